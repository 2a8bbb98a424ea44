with

source as (

    {{ select_source_columns('zoho_books', 'invoice_details') }}

),

final as (

    select
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

    from source

)

select * from final
