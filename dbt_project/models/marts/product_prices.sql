with

product_prices as (

    select * from {{ ref('int_product_prices_unioned') }}

),

final as (

    select
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source

    from product_prices

)

select * from final
