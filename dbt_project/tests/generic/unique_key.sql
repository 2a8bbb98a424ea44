{% test unique_key(model, columns) %}
{#- Fails with one row per value of the key `columns` that occurs more than once. Reads
    nothing when PostgreSQL already enforces the key (a valid, non-partial unique index on
    exactly those columns, which the loader keeps on each raw table): such a table cannot
    hold a duplicate. -#}
{%- set found = adapter.get_relation(
    database=model.database, schema=model.schema, identifier=model.identifier
) if execute else model %}
{%- if found is none %}
{#- a raw table dlt has not created yet (no row ever loaded) holds no duplicate -#}
select null as occurrences where false
{%- else %}
{%- set columns_csv = columns | join(', ') %}
{%- set column_literals = [] %}
{%- for column in columns | sort %}
    {%- do column_literals.append(sql_literal(column)) %}
{%- endfor %}
with

enforced as (

    select indexes.indexrelid

    from pg_catalog.pg_index as indexes

    where
        indexes.indrelid = to_regclass(
            {{ sql_literal(adapter.quote(model.schema) ~ '.' ~ adapter.quote(model.identifier)) }}
        )
        and indexes.indisunique
        and indexes.indisvalid
        and indexes.indpred is null
        and indexes.indexprs is null
        and indexes.indnatts = {{ columns | length }}
        and (
            select array_agg(attributes.attname::text order by attributes.attname)
            from pg_catalog.pg_attribute as attributes
            where
                attributes.attrelid = indexes.indrelid
                and attributes.attnum = any(indexes.indkey)
        ) = array[{{ column_literals | join(', ') }}]::text[]

),

final as (

    select
        {{ columns_csv }},
        count(*) as occurrences

    from {{ model }}

    where not exists (select from enforced)

    group by {{ columns_csv }}

    having count(*) > 1

)

select * from final
{%- endif %}

{% endtest %}
