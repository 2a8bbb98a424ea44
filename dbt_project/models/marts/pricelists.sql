with

pricelists as (

    select * from {{ ref('int_pricelists_unioned') }}

),

final as (

    select
        organization_id,
        pricelist_id,
        pricelist_name,
        currency_code,
        pricelist_type,
        sales_or_purchase_type,
        is_active,
        is_default,
        is_deleted,
        decimal_place,
        percentage,
        is_increase,
        rounding_type

    from pricelists

)

select * from final
