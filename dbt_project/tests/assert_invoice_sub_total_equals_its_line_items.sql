-- Zoho's sub_total is the sum of the lines' item_total. Both come from the same invoice
-- detail call, so every invoice with a detail must reconcile within 0.01.
with

invoices as (

    select * from {{ ref('invoices') }}

),

invoice_line_items as (

    select * from {{ ref('invoice_line_items') }}

),

line_totals as (

    select
        organization_id,
        invoice_id,
        sum(item_total) as line_items_total

    from invoice_line_items

    group by organization_id, invoice_id

),

final as (

    select
        invoices.organization_id,
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.sub_total,
        coalesce(line_totals.line_items_total, 0) as line_items_total

    from invoices

    left join line_totals
        on
            invoices.organization_id = line_totals.organization_id
            and invoices.invoice_id = line_totals.invoice_id

    where
        invoices.has_details
        and abs(coalesce(invoices.sub_total, 0) - coalesce(line_totals.line_items_total, 0))
        > 0.01

)

select * from final
