{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    line_item_id,
    bill_id,
    nullif(item_id, '') as product_id,
    name as line_item_name,
    description,
    rate,
    quantity,
    item_total,
    item_order,
    nullif(location_id, '') as location_id,
    nullif(tax_id, '') as tax_id,
    tax_percentage,
    coalesce(is_deleted, false) as is_deleted,
    deleted_at

from (

    {{ select_source_columns('zoho_books', 'bill_line_items') }}

) as source_rows
