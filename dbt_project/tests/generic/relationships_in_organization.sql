{% test relationships_in_organization(model, column_name, to, field) %}
{#- dbt's `relationships` within one organization: fails with one row per value of
    `column_name` (not null) that `to` does not hold under the same organization_id as
    `field`. Zoho's ids are unique only within an organization: an id another organization
    also has must not pass. Both relations carry organization_id. -#}
with

child as (

    select
        organization_id,
        {{ column_name }} as from_field

    from {{ model }}

    where {{ column_name }} is not null

),

parent as (

    select
        organization_id,
        {{ field }} as to_field

    from {{ to }}

),

final as (

    select child.*

    from child

    where not exists (
        select from parent
        where
            parent.organization_id = child.organization_id
            and parent.to_field = child.from_field
    )

)

select * from final

{% endtest %}
