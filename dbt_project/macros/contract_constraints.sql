{%- macro add_missing_constraints() -%}
    {#-
        Post-hook of every mart. dbt writes a contract's constraints only into the CREATE
        TABLE of a new table; an incremental mart built by an earlier version of this
        project keeps the table it had. This adds the contract's not_null and (named) check
        constraints that table lacks: PostgreSQL checks the existing rows once, then every
        write. Nothing to do on a full build (the table is new) or once they exist.
    -#}
    {%- if not (execute and is_incremental()) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set query -%}
        select
            coalesce(
                (
                    select string_agg(attname, ',')
                    from pg_attribute
                    where attrelid = {{ sql_literal(this.include(database=false)) }}::regclass and attnotnull
                ),
                ''
            ) as not_null_columns,
            coalesce(
                (
                    select string_agg(conname, ',')
                    from pg_constraint
                    where conrelid = {{ sql_literal(this.include(database=false)) }}::regclass and contype = 'c'
                ),
                ''
            ) as check_constraints
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set not_null = row[0].split(',') -%}
    {%- set checks = row[1].split(',') -%}
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
    {%- if alterations -%}
        {%- do log(model.name ~ ': adding the contract constraints the table lacks: ' ~ alterations | join('; '), info=true) -%}
    alter table {{ this }} {{ alterations | join(', ') }}
    {%- endif -%}
{%- endmacro -%}
