-- An invoice's total in the list equals the total in its detail when the detail was read
-- after the last change (an older detail may differ: it is re-read on the next run).
with

invoices as (

    select * from {{ ref('invoices') }}

),

invoice_details as (

    select * from {{ ref('stg_zoho_books__invoice_details') }}

),

final as (

    select
        invoices.organization_id,
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.total as list_total,
        invoice_details.total as detail_total

    from invoices

    inner join invoice_details
        on
            invoices.organization_id = invoice_details.organization_id
            and invoices.invoice_id = invoice_details.invoice_id

    where
        invoices.has_current_details
        and abs(invoices.total - invoice_details.total) > 0.01

)

select * from final
