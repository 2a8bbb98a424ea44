{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    name as organization_name,
    upper(currency_code) as currency_code,
    time_zone,
    _dlt_load_id

from (

    {{ select_source_columns('zoho_books', 'organizations') }}

) as source_rows
