{{ config(severity='warn') }}
-- Warns for each organization with no active sales list matching var('default_pricelist')
-- (rule 5): its products without a list price are filled into the synthetic list
-- `default`, not into one of its own Zoho lists. Not a failure: its prices are complete.
with

pricelists as (

    select * from {{ ref('pricelists') }}

),

final as (

    select
        organization_id,
        pricelist_name as default_pricelist_name

    from pricelists

    where
        is_default
        and pricelist_type = 'default'

)

select * from final
