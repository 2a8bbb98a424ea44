{#- The items Zoho still has: the source of the items snapshot, where an item that
    disappears (deleted in Zoho) closes its current version -#}
with

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

final as (

    select
        product_id,
        product_name,
        sku,
        status,
        price,
        purchase_price,
        unit,
        product_type,
        stock_on_hand,
        created_at,
        updated_at

    from products

    where not is_deleted

)

select * from final
