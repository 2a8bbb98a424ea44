{{ config(severity='warn') }}
-- The marts assume one organization per warehouse dataset (its currency is the base
-- currency of every item rate). With several, the lowest organization_id is used: warns.
with

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

final as (

    select count(*) as organizations

    from organizations

)

select * from final

where organizations > 1
