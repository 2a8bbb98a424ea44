{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    bill_id,
    bill_number,
    nullif(reference_number, '') as reference_number,
    nullif(vendor_id, '') as vendor_id,
    vendor_name,
    status,
    date as bill_date,
    due_date,
    upper(currency_code) as currency_code,
    exchange_rate,
    total,
    balance,
    created_time as created_at,
    last_modified_time as updated_at,
    coalesce(is_deleted, false) as is_deleted,
    deleted_at

from (

    {{ select_source_columns('zoho_books', 'bills') }}

) as source_rows
