{#-
    Last purchase cost and margin per product (docs/decisions.md, "Last purchase cost"),
    built from staging so that every join is on (organization_id, id).
-#}
with

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

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

purchases as (

    select
        bill_line_items.organization_id,
        bill_line_items.product_id,
        bill_line_items.bill_id,
        bills.vendor_id,
        bills.bill_date,
        bill_line_items.rate * bills.exchange_rate as rate_in_base_currency,
        row_number() over (
            partition by bill_line_items.organization_id, bill_line_items.product_id
            order by
                bills.bill_date desc,
                bills.updated_at desc,
                bill_line_items.line_item_id desc
        ) as newest_first

    from bill_line_items

    inner join bills
        on
            bill_line_items.organization_id = bills.organization_id
            and bill_line_items.bill_id = bills.bill_id

    where
        bill_line_items.product_id is not null
        and not bill_line_items.is_deleted
        and not bills.is_deleted
        and bills.status not in ('draft', 'void')

),

last_purchases as (

    select * from purchases
    where newest_first = 1

),

-- what each invoice line sold a unit for, discounts included, in the base currency
sales as (

    select
        invoice_line_items.organization_id,
        invoice_line_items.product_id,
        invoices.invoice_date,
        invoice_line_items.item_total
        / nullif(invoice_line_items.quantity, 0)
        * invoices.exchange_rate as unit_price_in_base_currency

    from invoice_line_items

    inner join invoices
        on
            invoice_line_items.organization_id = invoices.organization_id
            and invoice_line_items.invoice_id = invoices.invoice_id

    where
        invoice_line_items.product_id is not null
        and not invoice_line_items.is_deleted
        and not invoices.is_deleted
        and invoices.status not in ('draft', 'void')

),

sold_below_cost as (

    select
        last_purchases.organization_id,
        last_purchases.product_id,
        count(*) as lines_sold_below_cost

    from last_purchases

    inner join sales
        on
            last_purchases.organization_id = sales.organization_id
            and last_purchases.product_id = sales.product_id
            and last_purchases.bill_date <= sales.invoice_date
            and last_purchases.rate_in_base_currency > sales.unit_price_in_base_currency

    group by last_purchases.organization_id, last_purchases.product_id

),

final as (

    select
        items.organization_id,
        items.product_id,
        items.product_name,
        last_purchases.bill_id as last_bill_id,
        last_purchases.vendor_id as last_vendor_id,
        last_purchases.bill_date as last_purchased_on,
        last_purchases.rate_in_base_currency as last_purchase_cost,
        items.price,
        organizations.currency_code,
        items.price - last_purchases.rate_in_base_currency as margin,
        round(
            100.0 * (items.price - last_purchases.rate_in_base_currency)
            / nullif(items.price, 0),
            1
        ) as margin_percent,
        coalesce(
            items.price < last_purchases.rate_in_base_currency, false
        ) as is_priced_below_cost,
        coalesce(sold_below_cost.lines_sold_below_cost, 0) as lines_sold_below_cost,
        sold_below_cost.product_id is not null as is_sold_below_cost

    from items

    inner join last_purchases
        on
            items.organization_id = last_purchases.organization_id
            and items.product_id = last_purchases.product_id

    left join organizations
        on items.organization_id = organizations.organization_id

    left join sold_below_cost
        on
            items.organization_id = sold_below_cost.organization_id
            and items.product_id = sold_below_cost.product_id

    where items.is_active

)

select * from final
