with

product_price_coverage as (

    select * from {{ ref('product_price_coverage') }}

),

final as (

    select
        organization_id,
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
        {{ number_var('price_coverage_target_percent') }}::numeric as coverage_target_percent,
        count(*) filter (where has_image) as with_image,
        count(*) filter (where not has_image) as without_image,
        round(
            100.0 * count(*) filter (where has_image) / nullif(count(*), 0), 1
        ) as image_coverage_percent

    from product_price_coverage

    group by organization_id

)

select * from final
