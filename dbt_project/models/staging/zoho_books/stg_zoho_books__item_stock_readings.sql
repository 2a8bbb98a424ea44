{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    item_id as product_id,
    last_modified_time as product_updated_at,
    stock_on_hand,
    available_stock,
    coalesce(location_count, 0) as location_count,
    location_field,
    read_at,
    previous_stock_on_hand,
    previous_last_modified_time as previous_product_updated_at,
    previous_read_at,
    coalesce(is_deleted, false) as is_deleted

from (

    {{ select_source_columns('zoho_books', 'item_stock_readings') }}

) as source_rows
