{#- Rules 2–4 and 6 of docs/decisions.md: the price-list prices, and the default fill for
    the products that have none, in one pass over the rules' output (a default row is kept
    only when its product has no list price) -#}
with

products as (

    select * from {{ ref('int_products_enriched') }}

),

pricelists as (

    select * from {{ ref('int_pricelists_unioned') }}

),

per_item_prices as (

    select * from {{ ref('int_per_item_prices_selected') }}

),

fixed_percentage_prices as (

    select * from {{ ref('int_fixed_percentage_prices_rounded') }}

),

default_pricelists as (

    select
        organization_id,
        pricelist_id,
        currency_code

    from pricelists

    where is_default

),

-- rule 4: every active product with a price above zero (rule 6) is a candidate for its
-- organization's default list
default_candidates as (

    select
        products.organization_id,
        products.product_id,
        default_pricelists.pricelist_id,
        products.price,
        default_pricelists.currency_code,
        'default' as price_source,
        false as is_list_price

    from products

    inner join default_pricelists
        on products.organization_id = default_pricelists.organization_id

    where products.is_sellable

),

list_prices as (

    select
        organization_id,
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source,
        true as is_list_price

    from per_item_prices

    union all

    select
        organization_id,
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source,
        true as is_list_price

    from fixed_percentage_prices

),

candidates_and_list_prices as (

    select * from default_candidates

    union all

    select * from list_prices

),

-- a product's default row survives when it has no list price; a window by product (not an
-- anti-join) so that a filter on product_id reaches every input (incremental
-- product_prices), and so that each rule runs once
flagged as (

    select
        *,
        bool_or(is_list_price) over (
            partition by organization_id, product_id
        ) as has_list_price

    from candidates_and_list_prices

),

final as (

    select
        organization_id,
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source

    from flagged

    where is_list_price or not has_list_price

)

select * from final
