with

line_items as (

    select * from {{ ref('stg_zoho_books__invoice_line_items') }}

),

invoices as (

    select * from {{ ref('stg_zoho_books__invoices') }}

),

final as (

    select
        line_items.organization_id,
        line_items.line_item_id,
        line_items.invoice_id,
        invoices.customer_id,
        line_items.product_id,
        invoices.invoice_date,
        line_items.item_order,
        line_items.line_item_name,
        line_items.description,
        line_items.quantity,
        line_items.rate,
        line_items.discount,
        line_items.item_total,
        invoices.currency_code,
        line_items.tax_id,
        line_items.tax_percentage,
        line_items.is_deleted or coalesce(invoices.is_deleted, false) as is_deleted,
        coalesce(line_items.deleted_at, invoices.deleted_at) as deleted_at

    from line_items

    left join invoices
        on
            line_items.organization_id = invoices.organization_id
            and line_items.invoice_id = invoices.invoice_id

)

select * from final
