with

contacts as (

    select * from {{ ref('stg_zoho_books__contacts') }}

),

final as (

    select
        organization_id,
        contact_id as vendor_id,
        contact_name as vendor_name,
        company_name,
        status,
        coalesce(status = 'active', false) and not is_deleted as is_active,
        currency_code,
        email,
        phone,
        created_at,
        updated_at,
        is_deleted,
        deleted_at

    from contacts

    where contact_type = 'vendor'

)

select * from final
