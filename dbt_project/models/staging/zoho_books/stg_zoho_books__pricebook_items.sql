{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    pricebook_id as pricelist_id,
    item_id as product_id,
    pricebook_item_id as pricelist_item_id,
    pricebook_rate as pricelist_rate,
    nullif(trim(pricebook_discount), '') as pricelist_discount,
    pricing_scheme,
    price_brackets,
    coalesce(is_deleted, false) as is_deleted,
    deleted_at,
    _dlt_load_id

from (

    {{ select_source_columns('zoho_books', 'pricebook_items') }}

) as source_rows
