{% test no_overlapping_versions(model, columns, valid_from='valid_from', valid_to='valid_to') %}
{#- Fails with one row per version that overlaps the next version of the same `columns`
    (valid_to null = current, open-ended): a current version that is not the last, or one
    that ends after the next begins or before it began itself. Gaps are allowed (no
    price for a while). -#}
{%- set columns_csv = columns | join(', ') %}
with

versions as (

    select
        {{ columns_csv }},
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to,
        lead({{ valid_from }}) over (
            partition by {{ columns_csv }} order by {{ valid_from }}
        ) as next_valid_from

    from {{ model }}

),

final as (

    select * from versions

    where
        (valid_to is null and next_valid_from is not null)
        or valid_to > next_valid_from
        or valid_to < valid_from

)

select * from final

{% endtest %}
