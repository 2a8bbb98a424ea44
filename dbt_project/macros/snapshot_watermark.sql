{%- macro snapshot_watermark(snapshot) -%}
    {#-
        The newest `_dlt_load_id` the snapshot `snapshot` (its `this`) has stored, so it
        reads only the rows loaded after it: none (every row) before its first build and on
        `dbt build --full-refresh`, which compares everything (what to run after changing
        the pricing rules: product_prices is rebuilt without any new load). Used as a
        constant, not a sub-select, so PostgreSQL can estimate how many rows pass and use
        the index on `_dlt_load_id`.
    -#}
    {%- set watermark = none -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(snapshot) is not none -%}
        {%- set watermark = run_query('select max(_dlt_load_id) from ' ~ snapshot).columns[0].values()[0] -%}
    {%- endif -%}
    {{- return(watermark) -}}
{%- endmacro -%}

{%- macro snapshot_indexes() -%}
    {#-
        Post-hook of every snapshot: indexes for what each build asks of it: the newest
        `_dlt_load_id` (snapshot_watermark), the current versions of the keys it compares
        (the override of dbt's comparison, the price snapshot's removed rows) and of the
        dbt_scd_ids it closes, and every version of a key (history queries). The two on
        current versions are partial (`dbt_valid_to is null`), which dbt's `indexes` config
        cannot express: they stay the size of the catalogue while the history grows, and a
        lookup reads no closed version. Created at the first build; PostgreSQL keeps them
        up to date.
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
    on {{ this }} (dbt_scd_id) where dbt_valid_to is null
{%- endmacro -%}

{%- macro snapshot_changed_at() -%}
    {#-
        The `changed_at` of a check-strategy snapshot (its `updated_at` config): the
        instant of the build that first saw the version, `now()` (the transaction's start,
        one value for every row of the snapshot). dbt's own clock for the check strategy
        is the same moment cast to `timestamp without time zone`, wall-clock time whose
        meaning changes with the session's time zone; through `updated_at`, dbt_valid_from,
        dbt_valid_to and dbt_updated_at are timestamptz instants.
    -#}
    now()
{%- endmacro -%}
