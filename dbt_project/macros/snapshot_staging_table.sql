{%- macro postgres__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {#-
        dbt's snapshot comparison, reading only the current versions of the keys the source
        sends. Every snapshot here reads just the rows loaded since its last version (its
        int_*_to_snapshot model) with hard_deletes: ignore, so the versions of other keys
        cannot change: comparing them anyway made each build sort the whole history (2.7
        million price-list rows at 1M items) to find a few thousand changes. Delegates to
        dbt's own macro with the history narrowed to those keys (`snapshot_query` is the
        name dbt's macro gives the source); any other hard_deletes mode gets dbt's as is.
    -#}
    {%- if strategy.hard_deletes != 'ignore' -%}
        {{- return(default__snapshot_staging_table(strategy, source_sql, target_relation)) -}}
    {%- endif -%}
    {%- set keys = strategy.unique_key if strategy.unique_key is not string else [strategy.unique_key] -%}
    {%- set narrowed -%}
        (
            select * from {{ target_relation }}
            where ({{ keys | join(', ') }}) in (select {{ keys | join(', ') }} from snapshot_query)
        ) as {{ target_relation.identifier }}
    {%- endset -%}
    {{- return(default__snapshot_staging_table(strategy, source_sql, narrowed)) -}}
{%- endmacro -%}
