-- The invariant the business enforced with a database trigger: every active product with a
-- price above zero has at least one product_prices row (rules 2-4 of docs/decisions.md).
with

products as (

    select * from {{ ref('products') }}

),

product_prices as (

    select * from {{ ref('product_prices') }}

),

final as (

    select
        products.product_id,
        products.product_name,
        products.price

    from products

    left join product_prices
        on products.product_id = product_prices.product_id

    where
        products.is_active
        and products.price > 0
        and product_prices.product_id is null

)

select * from final
