{#- Rule 3 of docs/decisions.md: prices of fixed_percentage lists -#}
with

pricelists as (

    select * from {{ ref('int_pricelists_unioned') }}

),

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

base_currency as (

    select currency_code

    from organizations

    order by organization_id asc

    limit 1

),

fixed_percentage_pricelists as (

    select
        pricelists.pricelist_id,
        coalesce(pricelists.currency_code, base_currency.currency_code) as currency_code,
        pricelists.decimal_place,
        pricelists.rounding_type,
        case
            when pricelists.is_increase = false then -1
            else 1
        end * coalesce(pricelists.percentage, 0) as signed_percentage

    from pricelists

    cross join base_currency

    where
        pricelists.is_active
        and pricelists.sales_or_purchase_type = 'sales'
        and pricelists.pricelist_type = 'fixed_percentage'
        -- item rates are in the base currency and there is no exchange rate to convert
        -- them: a list in another currency gets no computed prices (a test warns)
        and coalesce(pricelists.currency_code = base_currency.currency_code, true)

),

priced_products as (

    select
        product_id,
        price

    from products

    where
        is_active
        and price > 0

),

marked_up as (

    select
        priced_products.product_id,
        fixed_percentage_pricelists.pricelist_id,
        fixed_percentage_pricelists.currency_code,
        fixed_percentage_pricelists.decimal_place,
        fixed_percentage_pricelists.rounding_type,
        priced_products.price
        * (1 + fixed_percentage_pricelists.signed_percentage / 100) as unrounded_price

    from fixed_percentage_pricelists

    cross join priced_products

),

final as (

    select
        product_id,
        pricelist_id,
        {{ round_price('unrounded_price', 'rounding_type', 'decimal_place') }} as price,
        currency_code,
        'pricelist' as price_source

    from marked_up

)

select * from final
