{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    item_id as product_id,
    location_id,
    location_name,
    coalesce(is_primary, false) as is_primary,
    status as location_status,
    stock_on_hand,
    available_stock,
    last_modified_time as product_updated_at,
    read_at

from (

    {{ select_source_columns('zoho_books', 'item_locations') }}

) as source_rows
