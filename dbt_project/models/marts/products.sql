{#-
    Incremental: only items (re)written by a load since the last build are rebuilt
    (delete+insert on product_id); all of them when the base currency changed
    (macro item_rows_to_rebuild).
    docs/decisions.md, "Incremental builds".
-#}
{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['_dlt_load_id']}],
    )
}}
-- depends_on: {{ ref('stg_zoho_books__organizations') }}

with

products as (

    select * from {{ ref('stg_zoho_books__items') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

base_currency as (

    select currency_code

    from organizations

    order by organization_id asc

    limit 1

),

final as (

    select
        products.product_id,
        products.product_name,
        products.sku,
        products.unit,
        products.product_type,
        products.price,
        base_currency.currency_code,
        products.status,
        products.is_active,
        products.is_deleted,
        products.stock_on_hand,
        products.image_name,
        products.created_at,
        products.updated_at,
        products.deleted_at,
        products._dlt_load_id

    from products

    left join base_currency
        on true

    where {{ item_rows_to_rebuild() }}

)

select * from final
