{%- macro add_missing_constraints() -%}
    {#-
        Post-hook of every mart. dbt writes a contract's constraints and the `indexes`
        config only when it creates a table; an incremental mart built by an earlier version
        of this project keeps the table it had. This adds the contract's not_null and
        (named) check constraints and the configured indexes that table lacks: PostgreSQL
        checks the existing rows once, then every write. Nothing to do on a full build (the
        table is new) or once they exist.
    -#}
    {%- if not (execute and is_incremental()) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set table = regclass(this) -%}
    {%- set query -%}
        select
            coalesce(
                (
                    select string_agg(attname, ',')
                    from pg_attribute
                    where attrelid = {{ table }} and attnotnull
                ),
                ''
            ) as not_null_columns,
            coalesce(
                (
                    select string_agg(conname, ',')
                    from pg_constraint
                    where conrelid = {{ table }} and contype = 'c'
                ),
                ''
            ) as check_constraints,
            coalesce(
                (
                    select string_agg(indexed.columns, ';')
                    from (
                        select string_agg(attname, ',' order by key.position) as columns
                        from pg_index
                        cross join unnest(indkey) with ordinality as key (attnum, position)
                        inner join pg_attribute
                            on indrelid = attrelid and key.attnum = pg_attribute.attnum
                        where indrelid = {{ table }}
                        group by indexrelid
                    ) as indexed
                ),
                ''
            ) as indexed_columns
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set not_null = row[0].split(',') -%}
    {%- set checks = row[1].split(',') -%}
    {%- set indexed = row[2].split(';') -%}
    {%- set alterations = [] -%}
    {%- for column in model.columns.values() -%}
        {%- for constraint in column.constraints
            if constraint.type == 'not_null' and column.name not in not_null -%}
            {%- do alterations.append('alter column ' ~ adapter.quote(column.name) ~ ' set not null') -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for constraint in model.constraints if constraint.type == 'check' -%}
        {%- if not constraint.name -%}
            {%- do exceptions.raise_compiler_error(
                model.name ~ ': name its check constraint, so add_missing_constraints can tell whether the table has it'
            ) -%}
        {%- endif -%}
        {%- if constraint.name not in checks -%}
            {%- do alterations.append(
                'add constraint ' ~ constraint.name ~ ' check (' ~ constraint.expression ~ ')'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set indexes = [] -%}
    {%- set missing = alterations.copy() -%}
    {%- for index in config.get('indexes') or []
        if index.columns | join(',') not in indexed -%}
        {%- do indexes.append(index) -%}
        {%- do missing.append('index on (' ~ index.columns | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- if missing -%}
        {%- do log(model.name ~ ': adding what the table lacks: ' ~ missing | join('; '), info=true) -%}
    {%- endif -%}
    {%- if alterations %}
    alter table {{ this }} {{ alterations | join(', ') }};
    {%- endif -%}
    {%- for index in indexes %}
    {{ get_create_index_sql(this, index) }};
    {%- endfor -%}
{%- endmacro -%}
