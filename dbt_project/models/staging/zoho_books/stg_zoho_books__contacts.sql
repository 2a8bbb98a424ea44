{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    contact_id,
    contact_name,
    nullif(trim(company_name), '') as company_name,
    contact_type,
    status,
    upper(nullif(currency_code, '')) as currency_code,
    nullif(trim(email), '') as email,
    nullif(trim(phone), '') as phone,
    outstanding_receivable_amount,
    created_time as created_at,
    last_modified_time as updated_at,
    coalesce(is_deleted, false) as is_deleted,
    deleted_at

from (

    {{ select_source_columns('zoho_books', 'contacts') }}

) as source_rows
