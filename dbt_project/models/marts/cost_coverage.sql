{#-
    Beside price_coverage: how many active products have a known purchase cost, and how
    many are priced or sold below it (docs/decisions.md, "Last purchase cost").
-#}
with

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

product_costs as (

    select * from {{ ref('product_costs') }}

),

organizations as (

    select organization_id from items

    union

    select organization_id from product_costs

),

active_products as (

    select
        organization_id,
        count(*) as active_products

    from items

    where is_active

    group by organization_id

),

costs as (

    select
        organization_id,
        count(*) as with_purchase_cost,
        count(*) filter (where is_priced_below_cost) as priced_below_cost,
        count(*) filter (where is_sold_below_cost) as sold_below_cost

    from product_costs

    group by organization_id

),

final as (

    select
        organizations.organization_id,
        coalesce(active_products.active_products, 0) as active_products,
        coalesce(costs.with_purchase_cost, 0) as with_purchase_cost,
        coalesce(costs.priced_below_cost, 0) as priced_below_cost,
        coalesce(costs.sold_below_cost, 0) as sold_below_cost

    from organizations

    left join active_products
        on organizations.organization_id = active_products.organization_id

    left join costs
        on organizations.organization_id = costs.organization_id

)

select * from final
