with

bills as (

    select * from {{ ref('stg_zoho_books__bills') }}

),

bill_details as (

    select * from {{ ref('stg_zoho_books__bill_details') }}

),

final as (

    select
        bills.organization_id,
        bills.bill_id,
        bills.bill_number,
        bills.reference_number,
        bills.vendor_id,
        bills.vendor_name,
        bills.status,
        bills.bill_date,
        bills.due_date,
        bills.currency_code,
        bills.exchange_rate,
        bill_details.sub_total,
        bill_details.tax_total,
        bills.total,
        bills.balance,
        bills.total * bills.exchange_rate as total_in_base_currency,
        bill_details.bill_id is not null as has_details,
        coalesce(
            bill_details.bill_updated_at >= bills.updated_at, false
        ) as has_current_details,
        bills.created_at,
        bills.updated_at,
        bills.is_deleted,
        bills.deleted_at

    from bills

    left join bill_details
        on
            bills.organization_id = bill_details.organization_id
            and bills.bill_id = bill_details.bill_id

)

select * from final
