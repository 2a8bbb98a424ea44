{#- Rules 4 and 6 of docs/decisions.md: the default fill -#}
with

products as (

    select * from {{ ref('stg_zoho_books__items') }}

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

default_pricelist as (

    select
        pricelist_id,
        currency_code

    from pricelists

    where is_default

),

list_priced_products as (

    select product_id from per_item_prices

    union

    select product_id from fixed_percentage_prices

),

final as (

    select
        products.product_id,
        default_pricelist.pricelist_id,
        products.price,
        default_pricelist.currency_code,
        'default' as price_source

    from products

    cross join default_pricelist

    left join list_priced_products
        on products.product_id = list_priced_products.product_id

    where
        products.is_active
        and products.price > 0
        and list_priced_products.product_id is null

)

select * from final
