{%- macro postgres__snapshot_get_time() -%}
    {#-
        Overrides dbt-postgres's `now()::timestamp without time zone`: snapshot times are
        timestamptz instants, the type of Zoho's modified times (the items snapshot's
        `updated_at`), so dbt_valid_from / dbt_valid_to compare as instants whatever the
        server's TimeZone setting.
    -#}
    {{ current_timestamp() }}
{%- endmacro -%}
