{#-
    Incremental like product_prices: the pre-hook deletes the rows of the products whose
    item or price-list rows were loaded since the last build (every product when a price
    list changed), and those products' rows are appended again from products and
    product_prices. docs/decisions.md, "Price coverage". The partial index on the
    `unexplained` class (normally no row) is what assert_every_priced_active_product_has_a_price
    reads.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_recomputed_prices() }}",
        indexes=[{'columns': ['_dlt_load_id']}],
        post_hook=(
            "create index if not exists {{ this.identifier }}__unexplained on {{ this }}"
            " (product_id) where coverage_class = 'unexplained'"
        ),
    )
}}
{%- set scope = price_scope() %}

with

products as (

    select * from {{ ref('products') }}

),

product_prices as (

    select * from {{ ref('product_prices') }}

),

loads_read as (

    {{ raw_high_water_mark(scope.watermark) }}

),

active_products as (

    select
        organization_id,
        product_id,
        product_name,
        sku,
        price,
        image_name

    from products

    where
        is_active
        and {{ recomputed('products.product_id', scope) }}

),

price_sources as (

    select
        organization_id,
        product_id,
        bool_or(price_source = 'pricelist') as has_pricelist_price

    from product_prices

    where {{ recomputed('product_prices.product_id', scope) }}

    group by organization_id, product_id

),

final as (

    select
        active_products.organization_id,
        active_products.product_id,
        active_products.product_name,
        active_products.sku,
        case
            when price_sources.has_pricelist_price then 'pricelist'
            when price_sources.product_id is not null then 'default'
            when active_products.price <= 0 then 'zero_price'
            when active_products.price is null then 'no_price'
            else 'unexplained'
        end as coverage_class,
        active_products.image_name is not null as has_image,
        loads_read._dlt_load_id

    from active_products

    left join price_sources
        on
            active_products.organization_id = price_sources.organization_id
            and active_products.product_id = price_sources.product_id

    cross join loads_read

)

select * from final
