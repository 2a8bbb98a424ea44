with

source as (

    {{ select_source_columns('zoho_books', 'organizations') }}

),

final as (

    select
        organization_id,
        name as organization_name,
        upper(currency_code) as currency_code,
        time_zone,
        _dlt_load_id

    from source

)

select * from final
