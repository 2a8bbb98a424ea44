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
        pricelist_id,
        currency_code

    from pricelists

    where
        is_active
        and sales_or_purchase_type = 'sales'
        and pricelist_type = 'per_item'

),

listed_items as (

    select
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
        on pricelist_items.pricelist_id = per_item_pricelists.pricelist_id

    inner join products
        on pricelist_items.product_id = products.product_id

    where
        not pricelist_items.is_deleted
        and products.is_active

),

volume_brackets as (

    select
        listed_items.pricelist_id,
        listed_items.product_id,
        nullif(brackets.bracket ->> 'pricebook_rate', '')::numeric as bracket_rate,
        row_number() over (
            partition by listed_items.pricelist_id, listed_items.product_id
            order by nullif(brackets.bracket ->> 'start_quantity', '')::numeric asc nulls last
        ) as bracket_rank

    from listed_items

    cross join lateral jsonb_array_elements(listed_items.price_brackets) as brackets (bracket)

    where
        listed_items.pricing_scheme = 'volume'
        and nullif(brackets.bracket ->> 'pricebook_rate', '') is not null

),

lowest_volume_brackets as (

    select
        pricelist_id,
        product_id,
        bracket_rate

    from volume_brackets

    where bracket_rank = 1

),

final as (

    select
        listed_items.product_id,
        listed_items.pricelist_id,
        coalesce(
            lowest_volume_brackets.bracket_rate, listed_items.pricelist_rate
        ) as price,
        listed_items.currency_code,
        'pricelist' as price_source

    from listed_items

    left join lowest_volume_brackets
        on
            listed_items.pricelist_id = lowest_volume_brackets.pricelist_id
            and listed_items.product_id = lowest_volume_brackets.product_id

    where coalesce(lowest_volume_brackets.bracket_rate, listed_items.pricelist_rate) is not null

)

select * from final
