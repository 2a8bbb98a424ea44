{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    bill_id,
    last_modified_time as bill_updated_at,
    sub_total,
    tax_total,
    total,
    details_fetched_at,
    coalesce(is_deleted, false) as is_deleted

from (

    {{ select_source_columns('zoho_books', 'bill_details') }}

) as source_rows
