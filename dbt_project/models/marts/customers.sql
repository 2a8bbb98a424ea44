with

contacts as (

    select * from {{ ref('stg_zoho_books__contacts') }}

),

final as (

    select
        organization_id,
        contact_id as customer_id,
        contact_name as customer_name,
        company_name,
        status,
        coalesce(status = 'active', false) and not is_deleted as is_active,
        currency_code,
        email,
        phone,
        outstanding_receivable_amount,
        created_at,
        updated_at,
        is_deleted,
        deleted_at

    from contacts

    where contact_type = 'customer'

)

select * from final
