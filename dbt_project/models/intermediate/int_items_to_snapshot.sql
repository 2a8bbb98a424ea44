{#- The item rows loaded since items_snapshot last stored a version, deleted ones included:
    what the snapshot compares, instead of every item every build. A deletion is a change
    at the time the loader noticed it (deleted_at), so it closes the current version and
    opens one with is_deleted. -#}
{{ config(materialized="ephemeral") }}

with

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

final as (

    select
        product_id,
        product_name,
        sku,
        status,
        price,
        purchase_price,
        unit,
        product_type,
        stock_on_hand,
        is_deleted,
        created_at,
        updated_at,
        case when is_deleted then greatest(updated_at, deleted_at) else updated_at end
            as changed_at,
        _dlt_load_id

    from products

    where _dlt_load_id > {{ snapshot_watermark('items_snapshot') }}

)

select * from final
