{#-
    Reconciliation (warn): for a product read twice (its stock reading keeps the one
    before), the stock on hand then plus the movements in between equals the stock on hand
    now, where every movement in between is known (docs/decisions.md, "Stock movements
    reconcile with the stock readings").

    The window is (previous reading, this reading]: when the loader read the two item
    details (the generated history of a data set, and documents older than the first
    reading, fall before it). A document's net movement in the window is
    known when the whole document lies on one side of a window edge: changed last before
    the window, created after it, or created and last changed within it. A document
    created before the window and changed within or after it (an edit, a status change),
    one deleted after the previous reading, or one whose lines await their detail call
    makes the product's movements in the window unknown: it is left out. What remains and
    disagrees is a movement Zoho did not tell us about, typically an inventory adjustment
    whose webhook was lost (the readings already corrected product_stock).
-#}
{{ config(severity='warn') }}

with

readings as (

    select * from {{ ref('stg_zoho_books__item_stock_readings') }}

),

movements as (

    select * from {{ ref('stock_movements') }}

),

bills as (

    select * from {{ ref('stg_zoho_books__bills') }}

),

bill_details as (

    select * from {{ ref('stg_zoho_books__bill_details') }}

),

bill_line_items as (

    select * from {{ ref('stg_zoho_books__bill_line_items') }}

),

invoices as (

    select * from {{ ref('stg_zoho_books__invoices') }}

),

invoice_details as (

    select * from {{ ref('stg_zoho_books__invoice_details') }}

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

windows as (

    select
        organization_id,
        product_id,
        previous_read_at as window_start,
        read_at as window_end,
        previous_read_at,
        previous_stock_on_hand,
        stock_on_hand

    from readings

    where
        not is_deleted
        and previous_stock_on_hand is not null
        and previous_read_at is not null
        and stock_on_hand is not null

),

-- every line of a bill or an invoice, whatever its status, deleted ones included
bill_and_invoice_lines as (

    {{ stock_document_lines() }}

),

-- every document line of a product, whatever its status, deleted ones included
document_lines as (

    select
        organization_id,
        product_id,
        created_at,
        updated_at,
        is_deleted,
        deleted_at

    from bill_and_invoice_lines

    union all

    select
        adjustments.organization_id,
        adjustment_line_items.product_id,
        adjustments.created_at,
        adjustments.updated_at,
        adjustments.is_deleted,
        adjustments.deleted_at

    from adjustments

    inner join adjustment_line_items
        on
            adjustments.organization_id = adjustment_line_items.organization_id
            and adjustments.inventory_adjustment_id
            = adjustment_line_items.inventory_adjustment_id

),

-- documents whose lines are missing or older than the document: any product may be on them
awaiting_details as (

    {{ stock_documents_awaiting_details() }}

),

unknown_lines as (

    select distinct
        windows.organization_id,
        windows.product_id

    from windows

    inner join document_lines
        on
            windows.organization_id = document_lines.organization_id
            and windows.product_id = document_lines.product_id

    where
        document_lines.created_at <= windows.window_end
        and (
            (
                document_lines.is_deleted
                and coalesce(document_lines.deleted_at > windows.previous_read_at, true)
            )
            or (
                not document_lines.is_deleted
                and document_lines.updated_at > windows.window_start
                and (
                    document_lines.created_at <= windows.window_start
                    or document_lines.updated_at > windows.window_end
                )
            )
        )

),

unknown_details as (

    select distinct
        windows.organization_id,
        windows.product_id

    from windows

    inner join awaiting_details
        on
            windows.organization_id = awaiting_details.organization_id
            and windows.window_start < awaiting_details.updated_at
            and windows.window_end >= awaiting_details.created_at

),

moved as (

    select
        windows.organization_id,
        windows.product_id,
        coalesce(sum(movements.quantity), 0) as quantity_moved

    from windows

    left join movements
        on
            windows.organization_id = movements.organization_id
            and windows.product_id = movements.product_id
            and windows.window_start < movements.document_created_at
            and windows.window_end >= movements.document_created_at

    group by windows.organization_id, windows.product_id

),

final as (

    select
        windows.organization_id,
        windows.product_id,
        windows.window_start,
        windows.window_end,
        windows.previous_stock_on_hand,
        moved.quantity_moved,
        windows.previous_stock_on_hand + moved.quantity_moved as expected_stock_on_hand,
        windows.stock_on_hand

    from windows

    inner join moved
        on
            windows.organization_id = moved.organization_id
            and windows.product_id = moved.product_id

    left join unknown_lines
        on
            windows.organization_id = unknown_lines.organization_id
            and windows.product_id = unknown_lines.product_id

    left join unknown_details
        on
            windows.organization_id = unknown_details.organization_id
            and windows.product_id = unknown_details.product_id

    where
        unknown_lines.product_id is null
        and unknown_details.product_id is null
        and windows.previous_stock_on_hand + moved.quantity_moved <> windows.stock_on_hand

)

select * from final
