{#- Rule 3 of docs/decisions.md: prices of fixed_percentage lists -#}
with

pricelists as (

    select * from {{ ref('int_pricelists_unioned') }}

),

products as (

    select * from {{ ref('int_products_enriched') }}

),

fixed_percentage_pricelists as (

    select
        organization_id,
        pricelist_id,
        currency_code,
        decimal_place,
        rounding_type,
        case
            when is_increase = false then -1
            else 1
        end * coalesce(percentage, 0) as signed_percentage

    from pricelists

    where
        is_active_sales_list
        and pricelist_type = 'fixed_percentage'

),

priced_products as (

    select
        organization_id,
        product_id,
        price,
        base_currency_code

    from products

    where is_sellable

),

marked_up as (

    select
        priced_products.organization_id,
        priced_products.product_id,
        fixed_percentage_pricelists.pricelist_id,
        coalesce(
            fixed_percentage_pricelists.currency_code, priced_products.base_currency_code
        ) as currency_code,
        fixed_percentage_pricelists.decimal_place,
        fixed_percentage_pricelists.rounding_type,
        priced_products.price
        * (1 + fixed_percentage_pricelists.signed_percentage / 100) as unrounded_price

    from fixed_percentage_pricelists

    -- a list prices its own organization's products; item rates are in its base currency
    -- and there is no exchange rate to convert them: a list in another currency gets no
    -- computed prices (a test warns)
    inner join priced_products
        on
            fixed_percentage_pricelists.organization_id = priced_products.organization_id
            and coalesce(
                fixed_percentage_pricelists.currency_code = priced_products.base_currency_code,
                true
            )

),

final as (

    select
        organization_id,
        product_id,
        pricelist_id,
        {{ round_price('unrounded_price', 'rounding_type', 'decimal_place') }} as price,
        currency_code,
        'pricelist' as price_source

    from marked_up

)

select * from final
