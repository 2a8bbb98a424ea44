{#- The rows of per_item price lists loaded since pricebook_items_snapshot last stored a
    version, and every row of a list re-loaded since (its deletion removes them all):
    what the snapshot compares, instead of every row every build. is_deleted when the row
    or its list is deleted. -#}
{{ config(materialized="ephemeral") }}

with

pricelist_items as (

    select * from {{ ref('stg_zoho_books__pricebook_items') }}

),

pricebooks as (

    select * from {{ ref('stg_zoho_books__pricebooks') }}

),

watermark as (

    select {{ snapshot_watermark('pricebook_items_snapshot') }} as _dlt_load_id

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
        pricelist_items.price_brackets,
        pricelist_items.is_deleted or pricebooks.is_deleted as is_deleted,
        greatest(pricelist_items._dlt_load_id, pricebooks._dlt_load_id) as _dlt_load_id

    from pricelist_items

    inner join pricebooks
        on pricelist_items.pricelist_id = pricebooks.pricelist_id

    cross join watermark

    where
        pricelist_items._dlt_load_id > watermark._dlt_load_id
        or pricebooks._dlt_load_id > watermark._dlt_load_id

)

select * from final
