-- Rule 5: in each organization exactly one price list, Zoho's or the synthetic one, is the
-- default.
with

pricelists as (

    select * from {{ ref('pricelists') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

defaults as (

    select
        organization_id,
        count(*) filter (where is_default) as default_pricelists

    from pricelists

    group by organization_id

),

final as (

    select
        organizations.organization_id,
        coalesce(defaults.default_pricelists, 0) as default_pricelists

    from organizations

    full outer join defaults
        on organizations.organization_id = defaults.organization_id

)

select * from final

where default_pricelists <> 1
