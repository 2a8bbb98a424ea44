{#- Rule 5 of docs/decisions.md: which price list is each organization's default one -#}
{%- set default_pricelist = var('default_pricelist') | string | trim -%}
{%- set default_currency = var('default_currency') | string | trim | upper -%}

with

pricebooks as (

    select
        *,
        -- rule 1: only active sales lists price anything
        is_active and coalesce(sales_or_purchase_type = 'sales', false) as is_active_sales_list

    from {{ ref('stg_zoho_books__pricebooks') }}

),

organizations as (

    select * from {{ ref('stg_zoho_books__organizations') }}

),

default_candidates as (

    select
        organization_id,
        pricelist_id,
        row_number() over (
            partition by organization_id
            order by
                coalesce(currency_code = {{ sql_literal(default_currency) }}, false) desc,
                -- ids are digit strings: shorter is lower
                length(pricelist_id) asc,
                pricelist_id asc
        ) as candidate_rank

    from pricebooks

    where
        is_active_sales_list
        and (
            pricelist_id = {{ sql_literal(default_pricelist) }}
            or lower(trim(pricelist_name)) = lower({{ sql_literal(default_pricelist) }})
        )

),

zoho_pricelists as (

    select
        pricebooks.organization_id,
        pricebooks.pricelist_id,
        pricebooks.pricelist_name,
        pricebooks.currency_code,
        pricebooks.pricelist_type,
        pricebooks.sales_or_purchase_type,
        pricebooks.decimal_place,
        pricebooks.percentage,
        pricebooks.is_increase,
        pricebooks.rounding_type,
        pricebooks.is_active,
        pricebooks.is_deleted,
        pricebooks.is_active_sales_list,
        coalesce(default_candidates.candidate_rank = 1, false) as is_default

    from pricebooks

    left join default_candidates
        on
            pricebooks.organization_id = default_candidates.organization_id
            and pricebooks.pricelist_id = default_candidates.pricelist_id

),

-- an organization with no list matching the default gets a synthetic one (a warning test,
-- assert_default_pricelist_found_in_zoho, names it)
synthetic_defaults as (

    select
        organizations.organization_id,
        'default' as pricelist_id,
        {{ sql_literal(default_pricelist) }} as pricelist_name,
        {{ sql_literal(default_currency) }} as currency_code,
        'default' as pricelist_type,
        'sales' as sales_or_purchase_type,
        cast(null as bigint) as decimal_place,
        cast(null as numeric) as percentage,
        cast(null as boolean) as is_increase,
        cast(null as text) as rounding_type,
        true as is_active,
        false as is_deleted,
        true as is_active_sales_list,
        true as is_default

    from organizations

    where not exists (
            select default_candidates.pricelist_id
            from default_candidates
            where default_candidates.organization_id = organizations.organization_id
        )

),

final as (

    select * from zoho_pricelists

    union all

    select * from synthetic_defaults

)

select * from final
