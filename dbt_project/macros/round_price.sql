{%- macro round_half_up(amount, places) -%}
    {#- `amount` rounded to `places` decimals, halves up (202.005 -> 202.01); places null: as is -#}
    trim_scale(
        case
            when {{ places }} is null then {{ amount }}
            else floor({{ amount }} * power(10::numeric, {{ places }}) + 0.5)
                / power(10::numeric, {{ places }})
        end
    )
{%- endmacro -%}

{%- macro round_price(amount, rounding_type, decimal_place) -%}
    {#- A fixed_percentage list's price rounding: docs/decisions.md, rule 3 -#}
    {%- set rounded -%}
    case
        when {{ rounding_type }} in ('round_to_dollar', 'round_to_dollor')
            then floor({{ amount }} + 0.5)
        when {{ rounding_type }} = 'round_to_dollar_minus_01'
            then floor({{ amount }} + 0.5) - 0.01
        when {{ rounding_type }} = 'round_to_half_dollar'
            then floor({{ amount }} * 2 + 0.5) / 2
        when {{ rounding_type }} = 'round_to_half_dollar_minus_01'
            then floor({{ amount }} * 2 + 0.5) / 2 - 0.01
        else {{ amount }}
    end
    {%- endset -%}
    {{ round_half_up(rounded, decimal_place) }}
{%- endmacro -%}
