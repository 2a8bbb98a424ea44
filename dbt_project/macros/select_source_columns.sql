{%- macro select_source_columns(source_name, table_name) -%}
    {#-
        `select <columns> from <source>` with exactly the columns the source YAML lists, each
        cast to its `data_type`. A column the table does not have (yet) is selected as a
        typed null: dlt creates a column only when it first sees a non-null value. A table
        dlt has not created (an organization without bills, no adjustment ever sent) reads
        as no rows: dlt creates a table only when it first loads a row.
    -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute -%}
        {%- set node = graph.sources[
            'source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name
        ] -%}
        {%- set exists = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) is not none -%}
        {%- set present = (adapter.get_columns_in_relation(relation) if exists else [])
            | map(attribute='name') | map('lower') | list -%}
        {%- set missing = [] -%}
    select
        {%- for column in node.columns.values() %}
            {%- if column.name | lower in present %}
                {%- set expression = adapter.quote(column.name) %}
            {%- else %}
                {%- do missing.append(column.name) %}
                {%- set expression = 'null' %}
            {%- endif %}
            {%- if column.data_type == 'numeric' %}
        trim_scale(cast({{ expression }} as numeric)) as {{ adapter.quote(column.name) }}
            {%- else %}
        cast({{ expression }} as {{ column.data_type }}) as {{ adapter.quote(column.name) }}
            {%- endif %}
            {{- ',' if not loop.last }}
        {%- endfor %}
    {%- if not exists %}
    where false
    {%- else %}
    from {{ relation }}
    {%- endif %}
        {%- if missing and present %}
            {%- do log(
                relation ~ ' has no column ' ~ missing | join(', ')
                ~ ' yet: selected as null', info=true
            ) %}
        {%- endif %}
    {%- else %}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro -%}
