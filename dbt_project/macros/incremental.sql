{#- Incremental builds: docs/decisions.md, "Incremental builds" -#}

{%- macro build_watermark() -%}
    {#-
        The highest `_dlt_load_id` stored in the incremental model being built: every raw row
        loaded up to it has been read. '' for an empty table; none on a full build (first
        build or --full-refresh), which reads everything.
    -#}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query('select coalesce(max(_dlt_load_id), \'\') from ' ~ this) -%}
        {{- return(result.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro -%}

{%- macro item_rows_to_rebuild() -%}
    {#-
        The filter on stg_zoho_books__items of an incremental `products` build: the items
        loaded after the watermark; every item on a full build, or when the base currency
        (on every row) is not the one the table holds.
    -#}
    {%- set watermark = build_watermark() -%}
    {%- if watermark is none -%}
        {{- return('true') -}}
    {%- endif -%}
    {#- one row tells: a build writes every row with the same base currency -#}
    {%- set query -%}
        select (select currency_code from {{ this }} limit 1) is distinct from (
            select currency_code
            from {{ ref('stg_zoho_books__organizations') }}
            order by organization_id asc
            limit 1
        )
    {%- endset -%}
    {%- if run_query(query).columns[0].values()[0] -%}
        {{- return('true') -}}
    {%- endif -%}
    {{- return(loaded_after(watermark)) -}}
{%- endmacro -%}

{%- macro recomputed(column, scope) -%}
    {#- The filter of a price model's rows to the products `scope` (price_scope) recomputes -#}
    {%- if scope.products is none -%}
        true
    {%- else -%}
        {{ column }} = any({{ scope.products }})
    {%- endif -%}
{%- endmacro -%}

{%- macro loaded_after(watermark) -%}
    {#- A filter on `_dlt_load_id`: rows loaded after the watermark (all rows when none) -#}
    {%- if watermark is none -%}
        true
    {%- else -%}
        _dlt_load_id > {{ sql_literal(watermark) }}
    {%- endif -%}
{%- endmacro -%}

{%- macro raw_high_water_mark(watermark) -%}
    {#-
        A select of one column, `_dlt_load_id`: the newest load id among the raw rows the
        prices depend on (items, price lists and their rows) loaded after the watermark, or
        the watermark itself. What the build has read; stored on every row it writes.
    -#}
    select coalesce(max(loads._dlt_load_id), {{ sql_literal(watermark or '') }}) as _dlt_load_id

    from (
        select max(_dlt_load_id) as _dlt_load_id
        from {{ ref('stg_zoho_books__items') }}
        where {{ loaded_after(watermark) }}

        union all

        select max(_dlt_load_id) as _dlt_load_id
        from {{ ref('stg_zoho_books__pricebook_items') }}
        where {{ loaded_after(watermark) }}

        union all

        select max(_dlt_load_id) as _dlt_load_id
        from {{ ref('stg_zoho_books__pricebooks') }}
        where {{ loaded_after(watermark) }}
    ) as loads
{%- endmacro -%}

{%- macro products_loaded_after(watermark, tables=['items', 'pricebook_items']) -%}
    {#-
        The ids of the products with a row in `tables` (items, pricebook_items) loaded after
        the watermark, as a SQL text[] literal: `product_id = any(<it>)` is a plain filter
        that PostgreSQL pushes down into the views below a model (a sub-select is not), so
        only those products are read and priced. None when there are more than
        var('incremental_max_products'): re-pricing every product is cheaper then.
    -#}
    {%- set limit = var('incremental_max_products') | int -%}
    {#- one row back, the literal built by PostgreSQL: 10,000 rows through dbt's agate
        tables and a Jinja loop cost 0.4 s per call at 1M items, and a build makes five -#}
    {%- set query -%}
        select
            count(*) as products,
            coalesce(string_agg(quote_literal(changed.product_id), ', '), '') as literals
        from (
        {%- for table in tables %}
            select product_id
            from {{ ref('stg_zoho_books__' ~ table) }}
            where {{ loaded_after(watermark) }}
            {{- '\n            union' if not loop.last }}
        {%- endfor %}
            limit {{ limit + 1 }}
        ) as changed
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- if result.columns[0].values()[0] > limit -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('array[' ~ result.columns[1].values()[0] ~ ']::text[]') -}}
{%- endmacro -%}

{%- macro price_scope() -%}
    {#-
        What an incremental build of a price model recomputes, as a dict:
        `watermark` (none on a full build) and `products`: a SQL text[] of the product ids
        to recompute, or none for all of them. Everything is recomputed on a full build, and
        when a price list changed (its status, type, percentage, rounding, currency or
        deletion can move every product's prices) or the organization was re-loaded while a
        fixed_percentage sales list is active (its base currency prices those lists).
        Otherwise a product's prices depend only on its own item row and its own price-list
        rows, so the products with a row loaded after the watermark are recomputed.
    -#}
    {{- return(price_scope_since(build_watermark())) -}}
{%- endmacro -%}

{%- macro price_scope_since(watermark) -%}
    {#-
        price_scope() for the raw rows loaded after `watermark` (a `_dlt_load_id`; none:
        everything): the products whose prices may have changed since that load.
    -#}
    {%- if watermark is none -%}
        {{- return({'watermark': none, 'products': none}) -}}
    {%- endif -%}
    {%- set query -%}
        select
            exists (
                select from {{ ref('stg_zoho_books__pricebooks') }}
                where {{ loaded_after(watermark) }}
            )
            or (
                exists (
                    select from {{ ref('stg_zoho_books__organizations') }}
                    where {{ loaded_after(watermark) }}
                )
                and exists (
                    select from {{ ref('stg_zoho_books__pricebooks') }}
                    where
                        is_active
                        and sales_or_purchase_type = 'sales'
                        and pricelist_type = 'fixed_percentage'
                )
            )
    {%- endset -%}
    {%- set every_product = run_query(query).columns[0].values()[0] -%}
    {%- if every_product -%}
        {{- return({'watermark': watermark, 'products': none}) -}}
    {%- endif -%}
    {{- return({'watermark': watermark, 'products': products_loaded_after(watermark)}) -}}
{%- endmacro -%}

{%- macro delete_recomputed_prices(key='product_id') -%}
    {#-
        Pre-hook of an incremental price model: delete the rows of the products this build
        recomputes (price_scope), so a product that lost all its prices loses its rows; the
        model then appends the recomputed rows. Runs in the model's transaction.
    -#}
    {%- if execute and is_incremental() -%}
        {%- set scope = price_scope() -%}
    delete from {{ this }}
        {%- if scope.products is not none %}
    where {{ key }} = any({{ scope.products }})
        {%- endif %}
    {%- endif -%}
{%- endmacro -%}

{%- macro analyze_if_new() -%}
    {#-
        Post-hook: ANALYZE a table a full build just wrote, so the models and snapshots
        reading it later in the same build are planned with its statistics. An incremental
        build changes a few rows; the planner finds new `_dlt_load_id`s through the index
        and autovacuum keeps the rest of the statistics.
    -#}
    {%- if execute and not is_incremental() -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro -%}
