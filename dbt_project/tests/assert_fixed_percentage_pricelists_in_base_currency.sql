{{ config(severity='warn') }}
-- An active fixed_percentage sales list in another currency than the base currency gets no
-- prices (item rates are in the base currency and there is no exchange rate): warns.
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
        pricelists.is_active
        and pricelists.sales_or_purchase_type = 'sales'
        and pricelists.pricelist_type = 'fixed_percentage'
        and pricelists.currency_code <> organizations.currency_code

)

select * from final
