with

source as (

    {{ select_source_columns('zoho_books', 'sync_runs') }}

),

final as (

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

    from source

)

select * from final
