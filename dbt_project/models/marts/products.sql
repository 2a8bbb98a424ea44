{#-
    Incremental: only the products whose inputs were loaded since the last build are
    rebuilt (delete+insert on organization_id and product_id): their item rows, or every product when the
    organization (the base currency) was loaded since (macro incremental_scope).
    docs/decisions.md, "Incremental builds".
-#}
{{
    config(
        materialized='incremental',
        unique_key=['organization_id', 'product_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['_dlt_load_id']}],
    )
}}
{%- set scope = incremental_scope() %}

with

products as (

    select * from {{ ref('int_products_enriched') }}

),

final as (

    select
        organization_id,
        product_id,
        product_name,
        sku,
        unit,
        product_type,
        price,
        base_currency_code as currency_code,
        status,
        is_active,
        is_deleted,
        stock_on_hand,
        image_name,
        created_at,
        updated_at,
        deleted_at,
        _dlt_load_id

    from products

    where {{ recomputed('product_id', scope) }}

)

select * from final
