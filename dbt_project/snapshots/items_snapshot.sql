{#- The item rows loaded since this snapshot last stored a version (its watermark),
    deleted ones included: what it compares, instead of every item every build.
    `changed_at` is when the version began: Zoho's last_modified_time; for a deletion the
    time the loader noticed it (deleted_at); for an item back from a deletion (a false
    one, or an undelete) whose modified time did not move, the load that saw it again. -#}
{% snapshot items_snapshot %}
-- the linter reads a snapshot block as one more indent level; house style keeps it flat
-- noqa: disable=LT02
{{
    config(
        unique_key=['organization_id', 'product_id'],
        strategy='timestamp',
        updated_at='changed_at',
        hard_deletes='ignore',
    )
}}
{%- set watermark = snapshot_watermark(this) %}
{%- set history = load_relation(this) if execute else none %}

with

loaded as (

    select * from {{ ref('stg_zoho_books__items') }}
    where _dlt_load_id > {{ sql_literal(watermark or '') }}

),

{%- if history is not none %}

deleted_versions as (

    select
        organization_id,
        product_id,
        dbt_valid_from

    from {{ history }}

    where
        dbt_valid_to is null
        and is_deleted

),

{%- endif %}

final as (

    select
        loaded.organization_id,
        loaded.product_id,
        loaded.product_name,
        loaded.sku,
        loaded.status,
        loaded.price,
        loaded.purchase_price,
        loaded.unit,
        loaded.product_type,
        loaded.stock_on_hand,
        loaded.is_deleted,
        loaded.created_at,
        loaded.updated_at,
        -- an instant (timestamptz), like dbt_valid_from / dbt_valid_to, which dbt copies it to
        case
            when loaded.is_deleted
                then greatest(
                    loaded.updated_at,
                    coalesce(loaded.deleted_at, to_timestamp(loaded._dlt_load_id::numeric))
                )
        {%- if history is not none %}
            -- back from a deletion: a new version even though Zoho's time did not move,
            -- never starting before the deletion it ends
            when deleted_versions.product_id is not null
                then greatest(
                    loaded.updated_at,
                    to_timestamp(loaded._dlt_load_id::numeric),
                    deleted_versions.dbt_valid_from + interval '1 millisecond'
                )
        {%- endif %}
            else loaded.updated_at
        end as changed_at,
        loaded._dlt_load_id

    from loaded

    {%- if history is not none %}

    left join deleted_versions
        on
            loaded.organization_id = deleted_versions.organization_id
            and loaded.product_id = deleted_versions.product_id

    {%- endif %}

)

select * from final
{% endsnapshot %}
