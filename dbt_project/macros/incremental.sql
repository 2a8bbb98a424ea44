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

{%- macro loaded_after(watermark) -%}
    {#- A filter on `_dlt_load_id`: rows loaded after the watermark (all rows when none) -#}
    {%- if watermark is none -%}
        true
    {%- else -%}
        _dlt_load_id > {{ sql_literal(watermark) }}
    {%- endif -%}
{%- endmacro -%}

{%- macro recomputed(column, scope) -%}
    {#- The filter of a model's rows to the products `scope` (incremental_scope) recomputes -#}
    {%- if scope.products is none -%}
        true
    {%- else -%}
        {{ column }} = any({{ scope.products }})
    {%- endif -%}
{%- endmacro -%}

{%- macro scope_inputs(unique_id) -%}
    {#-
        The inputs of a model, read from its lineage (its ref()s, all the way up): the models
        that read a source, as a list of dicts `name`, `relation`, `per_product` (true: the
        input has `product_id`, so a row of it changes that product only; false: a row of it
        can change every product). Each must carry `_dlt_load_id`, or the build stops: an
        incremental build could not tell what changed in it. A price rule that gains an
        input gains it here, with nothing to update by hand.
    -#}
    {%- set inputs = [] -%}
    {%- set seen = [] -%}
    {%- set pending = [unique_id] -%}
    {#- a breadth-first walk up the DAG (Jinja has no while loop: the list grows as it is read) -#}
    {%- for node_id in pending if node_id not in seen -%}
        {%- do seen.append(node_id) -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- set parents = node.depends_on.nodes -%}
        {%- if parents | reject('in', graph.nodes) | list -%}
            {#- a parent that is not a node (model, seed, ...) is a source -#}
            {%- do inputs.append(node) -%}
        {%- endif -%}
        {%- for parent in parents if not parent.startswith('source.') -%}
            {%- if not parent.startswith('model.') -%}
                {%- do exceptions.raise_compiler_error(
                    unique_id ~ ' depends on ' ~ parent ~ ', which has no `_dlt_load_id`: an '
                    ~ 'incremental build cannot tell what changed in it (docs/decisions.md, '
                    ~ '"Incremental builds")'
                ) -%}
            {%- endif -%}
            {%- do pending.append(parent) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set described = [] -%}
    {%- for node in inputs | sort(attribute='name') -%}
        {%- set relation = api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {#- none before the input's first build (`dbt compile` on an empty warehouse) -#}
        {%- if columns and '_dlt_load_id' not in columns -%}
            {%- do exceptions.raise_compiler_error(
                unique_id ~ ' reads ' ~ node.name ~ ', which has no `_dlt_load_id` column: an '
                ~ 'incremental build cannot tell what changed in it; select it there'
            ) -%}
        {%- endif -%}
        {%- do described.append({
            'name': node.name,
            'relation': relation,
            'per_product': 'product_id' in (columns or node.columns.keys())
        }) -%}
    {%- endfor -%}
    {{- return(described) -}}
{%- endmacro -%}

{%- macro raw_high_water_mark(watermark) -%}
    {#-
        A select of one column, `_dlt_load_id`: the newest load id among the rows of the
        model's inputs (scope_inputs) loaded after the watermark, or the watermark itself.
        What the build has read; stored on every row it writes.
    -#}
    select coalesce(max(loads._dlt_load_id), {{ sql_literal(watermark or '') }}) as _dlt_load_id

    from (
    {#- a unit test of the model has no lineage of its own: it reads only its fixtures -#}
    {%- set reads = execute and model.unique_id in graph.nodes -%}
    {%- for input in (scope_inputs(model.unique_id) if reads else []) %}
        select max(_dlt_load_id) as _dlt_load_id
        from {{ input.relation }}
        where {{ loaded_after(watermark) }}
        {{ 'union all' if not loop.last }}
    {%- else %}
        select cast(null as text) as _dlt_load_id
    {%- endfor %}
    ) as loads
{%- endmacro -%}

{%- macro products_loaded_after(watermark, inputs) -%}
    {#-
        The ids of the products with a row in `inputs` (scope_inputs, per_product ones)
        loaded after the watermark, as a SQL text[] literal: `product_id = any(<it>)` is a
        plain filter that PostgreSQL pushes down into the views below a model (a sub-select
        is not), so only those products are read and priced. None when there are more than
        var('incremental_max_products'): re-pricing every product is cheaper then.
    -#}
    {%- set limit = number_var('incremental_max_products') | int -%}
    {#- one row back, the literal built by PostgreSQL: 10,000 rows through dbt's agate
        tables and a Jinja loop cost 0.4 s per call at 1M items, and a build makes five -#}
    {%- set query -%}
        select
            count(*) as products,
            coalesce(string_agg(quote_literal(changed.product_id), ', '), '') as literals
        from (
        {%- for input in inputs %}
            select product_id
            from {{ input.relation }}
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

{%- macro incremental_scope() -%}
    {#-
        What an incremental build of the model recomputes, as a dict: `watermark` (none on
        a full build) and `products`: a SQL text[] of the product ids to recompute, or none
        for all of them. See price_scope_since.
    -#}
    {{- return(price_scope_since(build_watermark(), model.unique_id)) -}}
{%- endmacro -%}

{%- macro price_scope() -%}
    {#- incremental_scope(), by the name the price marts use -#}
    {{- return(incremental_scope()) -}}
{%- endmacro -%}

{%- macro price_scope_since(watermark, model_name) -%}
    {#-
        The products whose rows in model `model_name` (a name or unique id) may have changed
        since the raw load `watermark` (none: everything), from the model's inputs
        (scope_inputs): everything when an input without `product_id` (a price list, the
        organization) has a row loaded since, or more products than
        var('incremental_max_products') changed; otherwise the products with a row loaded
        since in an input with `product_id`. Exact, because a product's rows depend only on
        its own rows in those inputs and on the inputs without product_id.
    -#}
    {%- if watermark is none or not execute -%}
        {{- return({'watermark': watermark, 'products': none}) -}}
    {%- endif -%}
    {%- set unique_id = model_name if '.' in model_name else 'model.' ~ project_name ~ '.' ~ model_name -%}
    {%- set inputs = scope_inputs(unique_id) -%}
    {%- set per_product = inputs | selectattr('per_product') | list -%}
    {%- set every_product = inputs | rejectattr('per_product') | list -%}
    {%- do log(
        model.name ~ ': incremental scope from ' ~ unique_id ~ ' inputs; per product: '
        ~ per_product | map(attribute='name') | join(', ') ~ '; every product: '
        ~ every_product | map(attribute='name') | join(', '),
        info=false
    ) -%}
    {%- if every_product -%}
        {%- set query -%}
            select
            {%- for input in every_product %}
                exists (select from {{ input.relation }} where {{ loaded_after(watermark) }})
                {{- ' or' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- if run_query(query).columns[0].values()[0] -%}
            {{- return({'watermark': watermark, 'products': none}) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return({'watermark': watermark, 'products': products_loaded_after(watermark, per_product)}) -}}
{%- endmacro -%}

{%- macro delete_recomputed_prices(key='product_id') -%}
    {#-
        Pre-hook of an incremental price model: delete the rows of the products this build
        recomputes (incremental_scope), so a product that lost all its prices loses its
        rows; the model then appends the recomputed rows. Runs in the model's transaction.
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
