{%- macro sql_literal(value) -%}
    {#-
        `value` as a SQL string literal that means the same whatever the server's
        standard_conforming_strings: an escape string (E'...') with its backslashes and
        single quotes escaped by a backslash.
    -#}
    E'{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro -%}

{%- macro number_var(name) -%}
    {#-
        The dbt var `name` as a SQL number literal, or a compilation error naming the var
        when it is not a plain decimal number (a var reaches SQL as text: anything else
        would run as SQL).
    -#}
    {%- set value = var(name) -%}
    {%- set text = value | string | trim -%}
    {%- if value is boolean
        or not modules.re.fullmatch('[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)', text) -%}
        {%- do exceptions.raise_compiler_error(
            'var ' ~ name ~ ' must be a number, not ' ~ (text | tojson)
            ~ ': set it in dbt_project.yml (vars) or with --vars'
        ) -%}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro -%}

{%- macro validate_vars() -%}
    {#-
        on-run-start: every numeric var is a number (number_var) and
        incremental_max_products a whole number, before anything is built.
    -#}
    {%- do number_var('price_coverage_target_percent') -%}
    {%- if not modules.re.fullmatch('[0-9]+', number_var('incremental_max_products')) -%}
        {%- do exceptions.raise_compiler_error(
            'var incremental_max_products must be a whole number of products, not '
            ~ (var('incremental_max_products') | string | tojson)
        ) -%}
    {%- endif -%}
    select 1
{%- endmacro -%}
