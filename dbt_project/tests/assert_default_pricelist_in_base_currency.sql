{{ config(severity='warn') }}
-- Default-fill prices are item rates (base currency) put into the default price list and
-- labelled with that list's currency: warns when the two currencies differ.
with

pricelists as (

    select * from {{ ref('pricelists') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

final as (

    select
        pricelists.pricelist_id,
        pricelists.pricelist_name,
        pricelists.currency_code as pricelist_currency_code,
        organizations.currency_code as base_currency_code

    from pricelists

    cross join organizations

    where
        pricelists.is_default
        and pricelists.currency_code is distinct from organizations.currency_code

)

select * from final
