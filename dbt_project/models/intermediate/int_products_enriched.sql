{#- The products with the rule inputs every price rule shares, computed once: rule 6
    (`is_sellable`) and the base currency the item rates are in (their organization's). One flat select (no WITH),
    so a filter on product_id reaches the items' index (docs/decisions.md, "Staging views
    are one flat select"). -#}
select
    items.organization_id,
    items.product_id,
    items.product_name,
    items.sku,
    items.unit,
    items.product_type,
    items.price,
    items.status,
    items.is_active,
    items.is_deleted,
    items.stock_on_hand,
    items.image_name,
    items.created_at,
    items.updated_at,
    items.deleted_at,
    -- rule 6: only an active product with a price above zero is priced
    items.is_active and coalesce(items.price > 0, false) as is_sellable,
    -- item rates are in their organization's base currency
    organizations.currency_code as base_currency_code,
    items._dlt_load_id

from {{ ref('stg_zoho_books__items') }} as items

left join {{ ref('stg_zoho_books__organizations') }} as organizations
    on items.organization_id = organizations.organization_id
