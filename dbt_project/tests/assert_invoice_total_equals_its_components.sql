{{ config(severity='warn') }}
-- total = sub_total - discount_total + tax_total + shipping_charge + adjustment, within 0.01,
-- for invoices whose detail is current. A warning, not an error: with tax-inclusive prices
-- Zoho's sub_total already contains the tax, and some organizations add a round-off; the
-- loader contract carries neither `is_inclusive_tax` nor `roundoff_value`, so such invoices
-- cannot be told apart here.
with

invoices as (

    select * from {{ ref('invoices') }}

),

final as (

    select
        organization_id,
        invoice_id,
        invoice_number,
        total,
        coalesce(sub_total, 0)
        - coalesce(discount_total, 0)
        + coalesce(tax_total, 0)
        + coalesce(shipping_charge, 0)
        + coalesce(adjustment, 0) as components_total

    from invoices

    where has_current_details

)

select * from final

where abs(total - components_total) > 0.01
