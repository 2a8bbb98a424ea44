{#-
    Every quantity that moves a catalogue inventory product's stock, as Zoho records it:
    inventory adjustments (quantity adjustments not in draft), bills in and invoices out
    (neither draft nor void; their lines read alike, macro stock_document_lines). Deleted
    documents are left out. The reconciliation with the stock readings is the data test
    assert_stock_movements_reconcile_with_stock_readings (docs/decisions.md, "Stock
    movements reconcile with the stock readings").
-#}
with

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

bills as (

    select * from {{ ref('stg_zoho_books__bills') }}

),

bill_line_items as (

    select * from {{ ref('stg_zoho_books__bill_line_items') }}

),

invoices as (

    select * from {{ ref('stg_zoho_books__invoices') }}

),

invoice_line_items as (

    select * from {{ ref('stg_zoho_books__invoice_line_items') }}

),

adjustments as (

    select * from {{ ref('stg_zoho_books__inventory_adjustments') }}

),

adjustment_line_items as (

    select * from {{ ref('stg_zoho_books__inventory_adjustment_line_items') }}

),

inventory_products as (

    select
        organization_id,
        product_id

    from items

    where item_type = 'inventory'

),

document_lines as (

    {{ stock_document_lines() }}

),

document_movements as (

    select
        organization_id,
        document_type as movement_type,
        document_id,
        document_number,
        line_item_id,
        product_id,
        location_id,
        document_date as movement_date,
        quantity,
        created_at as document_created_at,
        updated_at as document_updated_at

    from document_lines

    where
        status not in ('draft', 'void')
        and not is_deleted
        and not is_line_deleted

),

adjustment_movements as (

    select
        adjustment_line_items.organization_id,
        'adjustment' as movement_type,
        adjustment_line_items.inventory_adjustment_id as document_id,
        adjustments.reference_number as document_number,
        adjustment_line_items.line_item_id,
        adjustment_line_items.product_id,
        coalesce(adjustment_line_items.location_id, adjustments.location_id) as location_id,
        adjustments.adjustment_date as movement_date,
        adjustment_line_items.quantity_adjusted as quantity,
        adjustments.created_at as document_created_at,
        adjustments.updated_at as document_updated_at

    from adjustment_line_items

    inner join adjustments
        on
            adjustment_line_items.organization_id = adjustments.organization_id
            and adjustment_line_items.inventory_adjustment_id
            = adjustments.inventory_adjustment_id

    where
        adjustments.adjustment_type = 'quantity'
        and coalesce(adjustments.status, 'adjusted') <> 'draft'
        and not adjustments.is_deleted
        and not adjustment_line_items.is_deleted

),

movements as (

    select * from document_movements

    union all

    select * from adjustment_movements

),

final as (

    select movements.*

    from movements

    inner join inventory_products
        on
            movements.organization_id = inventory_products.organization_id
            and movements.product_id = inventory_products.product_id

    where movements.quantity is not null

)

select * from final
