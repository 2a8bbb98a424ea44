{%- macro sql_literal(value) -%}
    {#- `value` as a SQL string literal, single quotes doubled -#}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro -%}
