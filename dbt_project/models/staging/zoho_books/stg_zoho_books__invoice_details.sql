{#- one flat select, no CTEs: docs/decisions.md, "Staging views are one flat select" -#}
select
    organization_id,
    invoice_id,
    last_modified_time as invoice_updated_at,
    sub_total,
    tax_total,
    discount_total,
    shipping_charge,
    adjustment,
    total,
    nullif(pricebook_id, '') as pricelist_id,
    details_fetched_at

from (

    {{ select_source_columns('zoho_books', 'invoice_details') }}

) as source_rows
