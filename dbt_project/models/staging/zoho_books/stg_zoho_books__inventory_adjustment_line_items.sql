{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    line_item_id,
    inventory_adjustment_id,
    nullif(item_id, '') as product_id,
    name as line_item_name,
    quantity_adjusted,
    item_total,
    nullif(location_id, '') as location_id,
    location_name,
    coalesce(is_deleted, false) as is_deleted

from (

    {{ select_source_columns('zoho_books', 'inventory_adjustment_line_items') }}

) as source_rows
