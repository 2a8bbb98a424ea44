{#- The rows of per_item price lists loaded since pricebook_items_snapshot last stored a
    version, and every row of a list loaded since (its deletion removes them all): what
    the snapshot compares, instead of every row every build. is_deleted when the row or
    its list is deleted. -#}
{% snapshot pricebook_items_snapshot %}
-- the linter reads a snapshot block as one more indent level; house style keeps it flat
-- noqa: disable=LT02
{{
    config(
        unique_key=['organization_id', 'pricelist_id', 'product_id'],
        strategy='check',
        check_cols=['currency_code', 'pricelist_rate', 'pricing_scheme', 'price_brackets', 'is_deleted'],
        updated_at='changed_at',
        hard_deletes='ignore',
    )
}}
{%- set watermark = sql_literal(snapshot_watermark(this) or '') %}

with

pricebooks as (

    select * from {{ ref('stg_zoho_books__pricebooks') }}

),

-- The list rows are read by two plain filters, not through an import CTE (PostgreSQL would
-- materialize all 2.7M rows at 1M items) nor with one `or` across the join: each filter
-- finds its rows through the index on _dlt_load_id.
rows_loaded as (

    select * from {{ ref('stg_zoho_books__pricebook_items') }}
    where _dlt_load_id > {{ watermark }}

),

rows_of_lists_loaded as (

    select * from {{ ref('stg_zoho_books__pricebook_items') }}
    where
        _dlt_load_id <= {{ watermark }}
        and (organization_id, pricelist_id) in (
            select
                lists_loaded.organization_id,
                lists_loaded.pricelist_id
            from pricebooks as lists_loaded
            where lists_loaded._dlt_load_id > {{ watermark }}
        )

),

changed as (

    select * from rows_loaded

    union all

    select * from rows_of_lists_loaded

),

final as (

    select
        changed.organization_id,
        changed.pricelist_id,
        changed.product_id,
        changed.pricelist_item_id,
        pricebooks.currency_code,
        changed.pricelist_rate,
        changed.pricelist_discount,
        changed.pricing_scheme,
        changed.price_brackets,
        changed.is_deleted or pricebooks.is_deleted as is_deleted,
        greatest(changed._dlt_load_id, pricebooks._dlt_load_id) as _dlt_load_id,
        {{ snapshot_changed_at() }} as changed_at

    from changed

    inner join pricebooks
        on
            changed.organization_id = pricebooks.organization_id
            and changed.pricelist_id = pricebooks.pricelist_id

)

select * from final
{% endsnapshot %}
