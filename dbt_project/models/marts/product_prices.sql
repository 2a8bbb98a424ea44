{#-
    Incremental: the pre-hook deletes the rows of the products whose rows in this model's
    inputs (read from its lineage) were loaded since the last build, and they are
    recomputed and appended (every product when a price list or the organization was
    loaded since). docs/decisions.md, "Incremental builds".
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_recomputed_prices() }}",
        post_hook="{{ analyze_if_new() }}",
        indexes=[{'columns': ['_dlt_load_id']}],
    )
}}
{%- set scope = price_scope() %}

with

product_prices as (

    select * from {{ ref('int_product_prices_unioned') }}

),

loads_read as (

    {{ raw_high_water_mark(scope.watermark) }}

),

final as (

    select
        product_prices.organization_id,
        product_prices.product_id,
        product_prices.pricelist_id,
        product_prices.price,
        product_prices.currency_code,
        product_prices.price_source,
        loads_read._dlt_load_id

    from product_prices

    cross join loads_read

    -- a filter on constants (or `true`), pushed down into the price rules' views
    where {{ recomputed('product_prices.product_id', scope) }}

)

select * from final
