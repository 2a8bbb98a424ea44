with

line_items as (

    select * from {{ ref('stg_zoho_books__bill_line_items') }}

),

bills as (

    select * from {{ ref('stg_zoho_books__bills') }}

),

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

final as (

    select
        line_items.organization_id,
        line_items.line_item_id,
        line_items.bill_id,
        bills.vendor_id,
        -- a line for no catalogue item (free text, or an item Zoho no longer has) keeps
        -- its Zoho id here and a null product_id: docs/decisions.md, "Bill lines"
        items.product_id,
        line_items.product_id as zoho_item_id,
        line_items.product_id is not null and items.product_id is null as is_unknown_item,
        bills.bill_date,
        line_items.item_order,
        line_items.line_item_name,
        line_items.location_id,
        line_items.quantity,
        line_items.rate,
        line_items.item_total,
        bills.currency_code,
        bills.exchange_rate,
        line_items.rate * bills.exchange_rate as rate_in_base_currency,
        line_items.item_total * bills.exchange_rate as item_total_in_base_currency,
        line_items.tax_percentage,
        line_items.is_deleted or coalesce(bills.is_deleted, false) as is_deleted,
        coalesce(line_items.deleted_at, bills.deleted_at) as deleted_at

    from line_items

    left join bills
        on
            line_items.organization_id = bills.organization_id
            and line_items.bill_id = bills.bill_id

    left join items
        on
            line_items.organization_id = items.organization_id
            and line_items.product_id = items.product_id

)

select * from final
