with

bill_line_items as (

    select * from {{ ref('bill_line_items') }}

),

bills as (

    select * from {{ ref('bills') }}

),

products as (

    select * from {{ ref('products') }}

),

purchases as (

    select
        bill_line_items.product_id,
        bill_line_items.bill_id,
        bill_line_items.vendor_id,
        bill_line_items.bill_date,
        bill_line_items.rate_in_base_currency,
        row_number() over (
            partition by bill_line_items.product_id
            order by
                bill_line_items.bill_date desc,
                bills.updated_at desc,
                bill_line_items.line_item_id desc
        ) as newest_first

    from bill_line_items

    inner join bills
        on bill_line_items.bill_id = bills.bill_id

    where
        bill_line_items.product_id is not null
        and not bill_line_items.is_deleted
        and bills.status not in ('draft', 'void')

),

final as (

    select
        products.product_id,
        products.product_name,
        purchases.bill_id as last_bill_id,
        purchases.vendor_id as last_vendor_id,
        purchases.bill_date as last_purchased_on,
        purchases.rate_in_base_currency as last_purchase_cost,
        products.price,
        products.currency_code,
        products.price - purchases.rate_in_base_currency as margin,
        round(
            100.0 * (products.price - purchases.rate_in_base_currency)
            / nullif(products.price, 0),
            1
        ) as margin_percent,
        coalesce(
            products.price < purchases.rate_in_base_currency, false
        ) as is_priced_below_cost

    from products

    inner join purchases
        on
            products.product_id = purchases.product_id
            and purchases.newest_first = 1

    where products.is_active

)

select * from final
