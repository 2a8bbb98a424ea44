{#- Rule 2 of docs/decisions.md: prices of per_item lists -#}
with

pricelist_items as (

    select * from {{ ref('stg_zoho_books__pricebook_items') }}

),

pricelists as (

    select * from {{ ref('int_pricelists_unioned') }}

),

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

per_item_pricelists as (

    select
        organization_id,
        pricelist_id,
        currency_code

    from pricelists

    where
        is_active_sales_list
        and pricelist_type = 'per_item'

),

listed_items as (

    select
        pricelist_items.organization_id,
        pricelist_items.pricelist_id,
        pricelist_items.product_id,
        pricelist_items.pricelist_rate,
        pricelist_items.pricing_scheme,
        per_item_pricelists.currency_code,
        case
            when jsonb_typeof(pricelist_items.price_brackets) = 'array'
                then pricelist_items.price_brackets
            else '[]'::jsonb
        end as price_brackets

    from pricelist_items

    inner join per_item_pricelists
        on
            pricelist_items.organization_id = per_item_pricelists.organization_id
            and pricelist_items.pricelist_id = per_item_pricelists.pricelist_id

    inner join products
        on
            pricelist_items.organization_id = products.organization_id
            and pricelist_items.product_id = products.product_id

    where
        not pricelist_items.is_deleted
        and products.is_active

),

priced_items as (

    select
        organization_id,
        product_id,
        pricelist_id,
        pricelist_rate,
        currency_code,
        -- volume pricing: the rate of the bracket with the lowest start quantity; a
        -- sub-select per volume row (not a window over every row), so that a filter on
        -- product_id reaches the price-list rows (incremental product_prices)
        case
            when pricing_scheme = 'volume' then (
                select nullif(brackets.bracket ->> 'pricebook_rate', '')::numeric as bracket_rate

                from jsonb_array_elements(listed_items.price_brackets) as brackets (bracket)

                where nullif(brackets.bracket ->> 'pricebook_rate', '') is not null

                order by nullif(brackets.bracket ->> 'start_quantity', '')::numeric asc nulls last

                limit 1
            )
        end as lowest_bracket_rate

    from listed_items

),

final as (

    select
        organization_id,
        product_id,
        pricelist_id,
        coalesce(lowest_bracket_rate, pricelist_rate) as price,
        currency_code,
        'pricelist' as price_source

    from priced_items

    where coalesce(lowest_bracket_rate, pricelist_rate) is not null

)

select * from final
