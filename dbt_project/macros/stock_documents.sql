{%- macro stock_documents() -%}
    {#-
        The documents whose lines move a product's stock by their quantity: bills in,
        invoices out. `header`, `lines` and `details` name the caller's import CTEs; the
        document's columns are `<name>_id`, `<name>_number`, `<name>_date` and the
        details' `<name>_updated_at`.
    -#}
    {%- set documents = [] -%}
    {%- for name, direction, has_location in [('bill', '', true), ('invoice', '-', false)] -%}
        {%- do documents.append({
            'name': name,
            'header': name ~ 's',
            'lines': name ~ '_line_items',
            'details': name ~ '_details',
            'id': name ~ '_id',
            'direction': direction,
            'has_location': has_location,
        }) -%}
    {%- endfor -%}
    {{- return(documents) -}}
{%- endmacro -%}

{%- macro stock_document_lines() -%}
    {#-
        Every line of a bill or an invoice with its document, whatever their status,
        deleted ones included: `quantity` signed (into stock positive), `location_id` null
        where the document has none. stock_movements and its reconciliation test read it.
    -#}
    {%- for document in stock_documents() %}
    {%- set header, lines = document.header, document.lines %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select
        {{ lines }}.organization_id,
        '{{ document.name }}' as document_type,
        {{ lines }}.{{ document.id }} as document_id,
        {{ header }}.{{ document.name }}_number as document_number,
        {{ lines }}.line_item_id,
        {{ lines }}.product_id,
        {% if document.has_location -%}
        {{ lines }}.location_id,
        {%- else -%}
        cast(null as text) as location_id,
        {%- endif %}
        {{ header }}.{{ document.name }}_date as document_date,
        {{ document.direction }}{{ lines }}.quantity as quantity,
        {{ header }}.status,
        {{ header }}.created_at,
        {{ header }}.updated_at,
        {{ header }}.is_deleted,
        {{ header }}.deleted_at,
        {{ lines }}.is_deleted as is_line_deleted

    from {{ lines }}

    inner join {{ header }}
        on
            {{ lines }}.organization_id = {{ header }}.organization_id
            and {{ lines }}.{{ document.id }} = {{ header }}.{{ document.id }}
    {%- endfor %}
{%- endmacro -%}

{%- macro stock_documents_awaiting_details() -%}
    {#-
        The bills and invoices (not deleted) whose lines are missing or older than the
        document: (organization_id, created_at, updated_at). Any product may be on them.
    -#}
    {%- for document in stock_documents() %}
    {%- set header, details, id = document.header, document.details, document.id %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select
        {{ header }}.organization_id,
        {{ header }}.created_at,
        {{ header }}.updated_at

    from {{ header }}

    left join {{ details }}
        on
            {{ header }}.organization_id = {{ details }}.organization_id
            and {{ header }}.{{ id }} = {{ details }}.{{ id }}

    where
        not {{ header }}.is_deleted
        and (
            {{ details }}.{{ id }} is null
            or {{ header }}.updated_at > {{ details }}.{{ document.name }}_updated_at
        )
    {%- endfor %}
{%- endmacro -%}
