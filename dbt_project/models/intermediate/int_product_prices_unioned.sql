with

per_item_prices as (

    select * from {{ ref('int_per_item_prices_selected') }}

),

fixed_percentage_prices as (

    select * from {{ ref('int_fixed_percentage_prices_rounded') }}

),

default_prices as (

    select * from {{ ref('int_default_prices_filled') }}

),

final as (

    select
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source
    from per_item_prices

    union all

    select
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source
    from fixed_percentage_prices

    union all

    select
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source
    from default_prices

)

select * from final
