{%- macro snapshot_relation(snapshot_name) -%}
    {#-
        The relation of one of this project's snapshots, or none before its first build
        (or while its table predates the incremental snapshots: no `is_deleted` column).
        Looked up, not ref()-ed: the model that feeds a snapshot cannot depend on it.
    -#}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set node = graph.nodes['snapshot.' ~ project_name ~ '.' ~ snapshot_name] -%}
    {%- set relation = adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.alias
    ) -%}
    {%- if relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.name == 'is_deleted' -%}
            {{- return(relation) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro -%}

{%- macro snapshot_watermark(snapshot_name) -%}
    {#-
        SQL literal: the newest `_dlt_load_id` a snapshot has stored, so the model that
        feeds it selects only the rows loaded after it; '' (every row) before that. A
        constant, not a sub-select, so PostgreSQL can estimate how many rows pass and use
        the index on `_dlt_load_id`.
    -#}
    {{- return(sql_literal(snapshot_watermark_of(snapshot_relation(snapshot_name)) or '')) -}}
{%- endmacro -%}

{%- macro snapshot_watermark_of(relation) -%}
    {#-
        The newest `_dlt_load_id` stored in a snapshot relation (from snapshot_relation):
        none before it stored a load, and on `dbt build --full-refresh`, which compares
        everything (what to run after changing the pricing rules: product_prices is
        rebuilt without any new load).
    -#}
    {%- if relation is none or flags.FULL_REFRESH -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set result = run_query('select max(_dlt_load_id) from ' ~ relation) -%}
    {{- return(result.columns[0].values()[0]) -}}
{%- endmacro -%}

{%- macro snapshot_indexes() -%}
    {#-
        Post-hook of every snapshot: indexes for what each build asks of it: the newest
        `_dlt_load_id` (snapshot_watermark), the current versions of the keys it compares
        (postgres__snapshot_staging_table, the price snapshot's removed rows) and of the
        dbt_scd_ids it closes, and every version of a key (history queries). The two on
        current versions are partial (`dbt_valid_to is null`): they stay the size of the
        catalogue while the history grows, and a lookup reads no closed version. Created
        once; PostgreSQL keeps them up to date. A full dbt_scd_id index from an earlier
        version is dropped.
    -#}
    {%- set unique_key = model.config.unique_key -%}
    {%- set keys = unique_key if unique_key is not string else [unique_key] -%}
    create index if not exists {{ this.identifier }}__dlt_load_id
    on {{ this }} (_dlt_load_id);
    create index if not exists {{ this.identifier }}__unique_key
    on {{ this }} ({{ keys | join(', ') }});
    create index if not exists {{ this.identifier }}__current
    on {{ this }} ({{ keys | join(', ') }}) where dbt_valid_to is null;
    create index if not exists {{ this.identifier }}__dbt_scd_id_current
    on {{ this }} (dbt_scd_id) where dbt_valid_to is null;
    drop index if exists {{ this.schema }}.{{ this.identifier }}__dbt_scd_id
{%- endmacro -%}
