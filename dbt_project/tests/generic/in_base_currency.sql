{% test in_base_currency(model, column_name) %}
{#- Fails with one row per row of `model` whose `column_name` is not its organization's base
    currency (what item rates are in); narrow it with the test's `where` config. `model`
    carries organization_id. -#}
with

tested as (

    select * from {{ model }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

final as (

    select
        tested.*,
        organizations.currency_code as base_currency_code

    from tested

    inner join organizations
        on tested.organization_id = organizations.organization_id

    where tested.{{ column_name }} is distinct from organizations.currency_code

)

select * from final

{% endtest %}
