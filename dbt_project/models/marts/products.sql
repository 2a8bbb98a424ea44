with

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

base_currency as (

    select currency_code

    from organizations

    order by organization_id asc

    limit 1

),

final as (

    select
        products.product_id,
        products.product_name,
        products.sku,
        products.unit,
        products.product_type,
        products.price,
        base_currency.currency_code,
        products.status,
        products.is_active,
        products.is_deleted,
        products.stock_on_hand,
        products.image_name,
        products.created_at,
        products.updated_at,
        products.deleted_at

    from products

    left join base_currency
        on true

)

select * from final
