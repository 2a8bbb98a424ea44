{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    invoice_id,
    invoice_number,
    nullif(customer_id, '') as customer_id,
    customer_name,
    status,
    date as invoice_date,
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

    {{ select_source_columns('zoho_books', 'invoices') }}

) as source_rows
