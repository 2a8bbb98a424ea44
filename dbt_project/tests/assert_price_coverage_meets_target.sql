{{ config(severity='warn') }}
-- Warns while fewer active products have a price than the business's target
-- (var price_coverage_target_percent, 95): a row per organization under it says by how much.
with

price_coverage as (

    select * from {{ ref('price_coverage') }}

),

final as (

    select
        organization_id,
        coverage_percent,
        coverage_target_percent,
        without_price_zero_price,
        without_price_no_price

    from price_coverage

    where coverage_percent < coverage_target_percent

)

select * from final
