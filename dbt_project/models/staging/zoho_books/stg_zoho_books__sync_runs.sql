{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    run_id,
    started_at,
    finished_at,
    status,
    resources,
    rows_loaded,
    api_calls,
    tokens_minted,
    quota_remaining,
    details_pending,
    error as error_message

from (

    {{ select_source_columns('zoho_books', 'sync_runs') }}

) as source_rows
