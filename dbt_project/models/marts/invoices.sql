with

invoices as (

    select * from {{ ref('stg_zoho_books__invoices') }}

),

invoice_details as (

    select * from {{ ref('stg_zoho_books__invoice_details') }}

),

final as (

    select
        invoices.organization_id,
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.customer_id,
        invoices.customer_name,
        invoices.status,
        invoices.invoice_date,
        invoices.due_date,
        invoices.currency_code,
        invoices.exchange_rate,
        invoice_details.sub_total,
        invoice_details.discount_total,
        invoice_details.tax_total,
        invoice_details.shipping_charge,
        invoice_details.adjustment,
        invoices.total,
        invoices.balance,
        invoices.total * invoices.exchange_rate as total_in_base_currency,
        invoice_details.pricelist_id,
        invoice_details.invoice_id is not null as has_details,
        coalesce(
            invoice_details.invoice_updated_at >= invoices.updated_at, false
        ) as has_current_details,
        invoices.created_at,
        invoices.updated_at,
        invoices.is_deleted,
        invoices.deleted_at

    from invoices

    left join invoice_details
        on
            invoices.organization_id = invoice_details.organization_id
            and invoices.invoice_id = invoice_details.invoice_id

)

select * from final
