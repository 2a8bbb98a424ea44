{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    item_id as product_id,
    name as product_name,
    nullif(trim(sku), '') as sku,
    status,
    coalesce(status = 'active', false) and not coalesce(is_deleted, false) as is_active,
    coalesce(is_deleted, false) as is_deleted,
    rate as price,
    purchase_rate as purchase_price,
    nullif(trim(unit), '') as unit,
    product_type,
    item_type,
    description,
    nullif(tax_id, '') as tax_id,
    tax_name,
    tax_percentage,
    stock_on_hand,
    available_stock,
    nullif(trim(image_name), '') as image_name,
    created_time as created_at,
    last_modified_time as updated_at,
    deleted_at,
    _dlt_load_id

from (

    {{ select_source_columns('zoho_books', 'items') }}

) as source_rows
