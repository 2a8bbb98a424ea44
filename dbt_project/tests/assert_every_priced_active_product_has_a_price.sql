-- The invariant the business enforced with a database trigger: every active product with a
-- price above zero has at least one product_prices row (rules 2-4 of docs/decisions.md).
-- product_price_coverage classes each active product from products and product_prices;
-- a product the rules leave without a price although it has one is `unexplained`, found
-- through the partial index product_price_coverage keeps on that class.
with

product_price_coverage as (

    select * from {{ ref('product_price_coverage') }}

),

products as (

    select * from {{ ref('products') }}

),

final as (

    select
        product_price_coverage.organization_id,
        product_price_coverage.product_id,
        products.product_name,
        products.price

    from product_price_coverage

    inner join products
        on
            product_price_coverage.organization_id = products.organization_id
            and product_price_coverage.product_id = products.product_id

    where product_price_coverage.coverage_class = 'unexplained'

)

select * from final
