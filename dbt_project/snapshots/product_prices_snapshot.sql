{#- The product_prices rows written since product_prices_snapshot last stored a version,
    and the prices that left product_prices since (is_deleted): what the snapshot
    compares, instead of every price every build. -#}
{% snapshot product_prices_snapshot %}
-- the linter reads a snapshot block as one more indent level; house style keeps it flat
-- noqa: disable=LT02
{{
    config(
        unique_key=['organization_id', 'product_id', 'pricelist_id'],
        strategy='check',
        check_cols=['price', 'currency_code', 'price_source', 'is_deleted'],
        updated_at='changed_at',
        hard_deletes='ignore',
    )
}}
{%- set watermark = snapshot_watermark(this) %}
{%- set history = load_relation(this) if execute else none %}
{#- the products whose prices were recomputed since (all of them after a price list
    changed): only their current versions can have left product_prices -#}
{%- set scope = price_scope_since(watermark, 'product_prices') %}

with

-- product_prices is read by each CTE that needs it, not through one import CTE:
-- PostgreSQL would materialize that (1.9M rows at 1M items) where each use needs a few
-- thousand, found through the mart's indexes.
written as (

    select
        organization_id,
        product_id,
        pricelist_id,
        price,
        currency_code,
        price_source,
        false as is_deleted,
        _dlt_load_id

    from {{ ref('product_prices') }}

    where _dlt_load_id > {{ sql_literal(watermark or '') }}

),

{%- if history is not none %}

current_versions as (

    select * from {{ history }}
    where
        dbt_valid_to is null
        and not is_deleted
        and {{ recomputed('product_id', scope) }}

),

loads_read as (

    select max(_dlt_load_id) as _dlt_load_id
    from {{ ref('product_prices') }}

),

removed as (

    select
        current_versions.organization_id,
        current_versions.product_id,
        current_versions.pricelist_id,
        current_versions.price,
        current_versions.currency_code,
        current_versions.price_source,
        true as is_deleted,
        loads_read._dlt_load_id

    from current_versions

    cross join loads_read

    where not exists (
        select from {{ ref('product_prices') }} as product_prices
        where
            product_prices.organization_id = current_versions.organization_id
            and product_prices.product_id = current_versions.product_id
            and product_prices.pricelist_id = current_versions.pricelist_id
    )

),

{%- endif %}

changed as (

    select * from written

    {%- if history is not none %}

    union all

    select * from removed

    {%- endif %}

),

final as (

    select
        *,
        {{ snapshot_changed_at() }} as changed_at

    from changed

)

select * from final
{% endsnapshot %}
