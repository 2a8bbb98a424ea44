{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    inventory_adjustment_id,
    date as adjustment_date,
    reason,
    nullif(reference_number, '') as reference_number,
    adjustment_type,
    nullif(location_id, '') as location_id,
    location_name,
    status,
    total,
    created_time as created_at,
    last_modified_time as updated_at,
    event_type,
    webhook_event_id,
    received_at,
    coalesce(is_deleted, false) as is_deleted,
    deleted_at

from (

    {{ select_source_columns('zoho_books', 'inventory_adjustments') }}

) as source_rows
