{#-
    Stock per product from the items listing (`stock_on_hand`, `available_stock`): one
    row per inventory product, its total over every location (`location_id` null). Stock
    per location (the item detail) is not read yet: docs/data-model.md.
-#}
with

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

final as (

    select
        product_id,
        cast(null as text) as location_id,
        stock_on_hand,
        available_stock,
        updated_at as as_of

    from items

    where
        not is_deleted
        and item_type = 'inventory'
        and stock_on_hand is not null

)

select * from final
