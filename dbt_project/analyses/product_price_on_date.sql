{#-
    "What was this product's Consumer price on 1 October?"

    Every product's price in a price list at an instant, as product_prices published it
    (all rules applied, default fill included), from product_prices_snapshot. Compile it
    with the question's values and run the SQL it prints, which `make price-on-date
    SKU=... AS_OF=... PRICELIST=...` does (docs/data-model.md):

        dbt compile -q -s product_price_on_date \
            --vars '{as_of: "2026-10-01 23:59:59+03:00", pricelist: Consumer, sku: BG-10705-1358}'

    as_of      an instant (with its UTC offset); default: the end of 1 October 2025, Baghdad
    pricelist  a price list name or id; default: var('default_pricelist')
    sku        optional: one product's SKU (all products when not set)

    History starts with the first `dbt build` that snapshotted product_prices; a product
    without a row at as_of had no price in that list then.
-#}
{%- set as_of = var('as_of', '2025-10-01 23:59:59+03:00') -%}
{%- set pricelist = var('pricelist', var('default_pricelist')) | string | trim -%}
{%- set sku = var('sku', '') | string | trim -%}

with

price_history as (

    select * from {{ ref('product_prices_snapshot') }}

),

products as (

    select * from {{ ref('products') }}

),

pricelists as (

    select * from {{ ref('pricelists') }}

),

final as (

    select
        products.product_id,
        products.product_name,
        products.sku,
        pricelists.pricelist_name,
        price_history.price,
        price_history.currency_code,
        price_history.price_source,
        price_history.dbt_valid_from as price_valid_from,
        price_history.dbt_valid_to as price_valid_to

    from price_history

    inner join products
        on price_history.product_id = products.product_id

    inner join pricelists
        on price_history.pricelist_id = pricelists.pricelist_id

    where
        not price_history.is_deleted
        and price_history.dbt_valid_from <= {{ sql_literal(as_of) }}::timestamptz
        and (
            price_history.dbt_valid_to > {{ sql_literal(as_of) }}::timestamptz
            or price_history.dbt_valid_to is null
        )
        and (
            pricelists.pricelist_id = {{ sql_literal(pricelist) }}
            or lower(trim(pricelists.pricelist_name)) = lower({{ sql_literal(pricelist) }})
        )
        and ({{ sql_literal(sku) }} = '' or products.sku = {{ sql_literal(sku) }})

)

select * from final

order by product_name
