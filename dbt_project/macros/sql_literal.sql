{%- macro sql_literal(value) -%}
    {#- `value` as a SQL string literal, single quotes doubled -#}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro -%}

{%- macro regclass(relation) -%}
    {#- SQL: `relation`'s oid as a regclass, for the catalog queries about it -#}
    {{ sql_literal(relation.include(database=false)) }}::regclass
{%- endmacro -%}
