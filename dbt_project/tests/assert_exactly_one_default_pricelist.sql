-- Rule 5: exactly one price list, Zoho's or the synthetic one, is the default.
with

pricelists as (

    select * from {{ ref('pricelists') }}

),

final as (

    select count(*) filter (where is_default) as default_pricelists

    from pricelists

)

select * from final

where default_pricelists <> 1
