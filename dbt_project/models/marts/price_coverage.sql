with

products as (

    select * from {{ ref('products') }}

),

product_prices as (

    select * from {{ ref('product_prices') }}

),

price_sources as (

    select
        product_id,
        bool_or(price_source = 'pricelist') as has_pricelist_price

    from product_prices

    group by product_id

),

active_products as (

    select
        products.product_id,
        case
            when price_sources.has_pricelist_price then 'pricelist'
            when price_sources.product_id is not null then 'default'
            when products.price <= 0 then 'zero_price'
            when products.price is null then 'no_price'
            else 'unexplained'
        end as coverage_class

    from products

    left join price_sources
        on products.product_id = price_sources.product_id

    where products.is_active

),

final as (

    select
        count(*) as active_products,
        count(*) filter (where coverage_class = 'pricelist') as with_pricelist_price,
        count(*) filter (where coverage_class = 'default') as filled_by_default,
        count(*) filter (
            where coverage_class not in ('pricelist', 'default')
        ) as without_price,
        count(*) filter (where coverage_class = 'zero_price') as without_price_zero_price,
        count(*) filter (where coverage_class = 'no_price') as without_price_no_price,
        round(
            100.0 * count(*) filter (where coverage_class in ('pricelist', 'default'))
            / nullif(count(*), 0),
            1
        ) as coverage_percent,
        {{ var('price_coverage_target_percent') }}::numeric as coverage_target_percent

    from active_products

)

select * from final
