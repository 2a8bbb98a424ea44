{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    pricebook_id as pricelist_id,
    trim(name) as pricelist_name,
    upper(currency_code) as currency_code,
    decimal_place,
    status,
    coalesce(status = 'active', false) and not coalesce(is_deleted, false) as is_active,
    coalesce(is_deleted, false) as is_deleted,
    sales_or_purchase_type,
    pricebook_type as pricelist_type,
    percentage,
    is_increase,
    nullif(trim(rounding_type), '') as rounding_type,
    description,
    deleted_at,
    _dlt_load_id

from (

    {{ select_source_columns('zoho_books', 'pricebooks') }}

) as source_rows
