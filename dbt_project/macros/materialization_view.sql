{%- materialization view, adapter='postgres' -%}
    {#-
        dbt's view materialization, skipped while the view in the database was built from
        the same SQL. dbt re-creates every view at every build (create, two renames, then
        DROP ... CASCADE of the old one, which also drops the views built on it until dbt
        re-creates them); every 15 minutes that is ~20 views' worth of catalog churn and
        ~0.4 s for nothing. Each view this materialization builds carries the md5 of its
        compiled SQL in its comment; a view with the same comment is left as it is. A
        PostgreSQL view cannot outlive a table or view it reads (they cannot be dropped
        without dropping it), so the same SQL means the same view. `--full-refresh`
        re-creates every view.
    -#}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set fingerprint = 'built by dbt; sql md5 ' ~ local_md5(sql) -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if existing_relation is not none and existing_relation.is_view
        and not should_full_refresh()
        and view_fingerprint(existing_relation) == fingerprint -%}
        {{ run_hooks(pre_hooks) }}
        {%- call noop_statement('main', 'UNCHANGED') -%}{%- endcall -%}
        {{ run_hooks(post_hooks) }}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}
    {%- set result = dbt.materialization_view_default() -%}
    {%- call statement('fingerprint') -%}
        comment on view {{ target_relation }} is {{ sql_literal(fingerprint) }}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return(result) }}
{%- endmaterialization -%}

{%- macro view_fingerprint(relation) -%}
    {#- The comment of a view (view materialization): its SQL's md5 when dbt built it -#}
    {%- set query -%}
        select obj_description({{ regclass(relation) }}, 'pg_class')
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro -%}
