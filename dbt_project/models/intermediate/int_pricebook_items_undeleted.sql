{#- The per_item list rows Zoho still has (row and list not deleted): the source of the
    price-list items snapshot, where a row that disappears closes its current version -#}
with

pricelist_items as (

    select * from {{ ref('stg_zoho_books__pricebook_items') }}

),

pricebooks as (

    select * from {{ ref('stg_zoho_books__pricebooks') }}

),

final as (

    select
        pricelist_items.pricelist_id,
        pricelist_items.product_id,
        pricelist_items.pricelist_item_id,
        pricebooks.currency_code,
        pricelist_items.pricelist_rate,
        pricelist_items.pricelist_discount,
        pricelist_items.pricing_scheme,
        pricelist_items.price_brackets

    from pricelist_items

    inner join pricebooks
        on pricelist_items.pricelist_id = pricebooks.pricelist_id

    where
        not pricelist_items.is_deleted
        and not pricebooks.is_deleted

)

select * from final
