{#-
    "What was this product's Consumer price on 1 October?" as one plain filter:

        where valid_from <= T and (valid_to is null or valid_to > T)

    The versions of product_prices_snapshot (what product_prices published, all rules
    applied) with the product's SKU and name and the list's name as they are now. A
    version marked deleted in the snapshot (the price left product_prices) is not a price:
    it is left out, and the version before it ends when it began, so no row answers for
    that time. A view: nothing to rebuild at each build while the history grows, never
    behind the snapshot, and a question for one SKU reads a few rows through the
    snapshot's and products' indexes.
-#}
{{ config(materialized='view') }}

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
        price_history.organization_id,
        price_history.product_id,
        products.sku,
        products.product_name,
        price_history.pricelist_id,
        pricelists.pricelist_name,
        price_history.price,
        price_history.currency_code,
        price_history.price_source,
        price_history.dbt_valid_from as valid_from,
        price_history.dbt_valid_to as valid_to,
        price_history.dbt_valid_to is null as is_current

    from price_history

    -- left joins: history outlives a list (the synthetic default list goes once a Zoho
    -- list is the default); products keeps deleted items
    left join products
        on
            price_history.organization_id = products.organization_id
            and price_history.product_id = products.product_id

    left join pricelists
        on
            price_history.organization_id = pricelists.organization_id
            and price_history.pricelist_id = pricelists.pricelist_id

    where not price_history.is_deleted

)

select * from final
