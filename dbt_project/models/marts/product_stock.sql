{#-
    Stock per product and location for the storefront (docs/decisions.md, "Stock per
    location"): the locations of the product's last item-detail reading, or, for a product
    without one (not read yet, or no location in Zoho), one row with a null location and
    the items listing's totals.
-#}
with

items as (

    select * from {{ ref('stg_zoho_books__items') }}

),

readings as (

    select * from {{ ref('stg_zoho_books__item_stock_readings') }}

),

locations as (

    select * from {{ ref('stg_zoho_books__item_locations') }}

),

inventory_products as (

    select
        organization_id,
        product_id,
        stock_on_hand,
        available_stock,
        updated_at

    from items

    where
        not is_deleted
        and item_type = 'inventory'

),

read_locations as (

    select
        locations.organization_id,
        locations.product_id,
        locations.location_id,
        locations.location_name,
        locations.is_primary,
        locations.stock_on_hand,
        locations.available_stock,
        readings.read_at as as_of,
        readings.read_at,
        'item_detail' as stock_source,
        inventory_products.updated_at <= readings.product_updated_at as is_current

    from locations

    inner join readings
        on
            locations.organization_id = readings.organization_id
            and locations.product_id = readings.product_id

    inner join inventory_products
        on
            locations.organization_id = inventory_products.organization_id
            and locations.product_id = inventory_products.product_id

    where not readings.is_deleted

),

listing_totals as (

    select
        inventory_products.organization_id,
        inventory_products.product_id,
        cast(null as text) as location_id,
        cast(null as text) as location_name,
        cast(null as boolean) as is_primary,
        inventory_products.stock_on_hand,
        inventory_products.available_stock,
        inventory_products.updated_at as as_of,
        cast(null as timestamptz) as read_at,
        'items_listing' as stock_source,
        true as is_current

    from inventory_products

    left join read_locations
        on
            inventory_products.organization_id = read_locations.organization_id
            and inventory_products.product_id = read_locations.product_id

    where
        read_locations.product_id is null
        and inventory_products.stock_on_hand is not null

),

final as (

    select * from read_locations

    union all

    select * from listing_totals

)

select * from final
