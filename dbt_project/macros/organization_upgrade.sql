{%- macro upgrade_to_organizations() -%}
    {#-
        on-run-start: upgrade in place the history and incremental marts a build before
        several organizations left (CHANGELOG, "Several organizations"; the raw tables are
        upgraded by the loader, loader/warehouse/organization_upgrade.py).

        - A snapshot table without organization_id gains it, filled with the organization
          the warehouse held then (that of its first successful loader run): its history
          is kept, and the next versions compare on (organization_id, id). Its key indexes
          are dropped so that its post-hook (snapshot_indexes) makes them again on the new
          key.
        - An incremental mart without organization_id (products, product_prices,
          product_price_coverage) is derived data with no history and a primary key on the
          id alone: when this build selects it, it is dropped and built again in full.
          A build that does not select it leaves it as it is until one does.

        Nothing to do (one catalogue query) once every table has the column.
    -#}
    {%- if not execute -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set snapshots = [] -%}
    {%- set incrementals = [] -%}
    {%- for node in graph.nodes.values() | selectattr('package_name', 'equalto', project_name) -%}
        {%- set is_snapshot = node.resource_type == 'snapshot' -%}
        {%- set is_incremental_model = node.resource_type == 'model'
            and node.config.materialized == 'incremental' -%}
        {%- if is_snapshot or is_incremental_model -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias
            ) -%}
            {%- if relation is not none -%}
                {%- set columns = adapter.get_columns_in_relation(relation)
                    | map(attribute='name') | map('lower') | list -%}
                {%- if 'organization_id' not in columns -%}
                    {%- if is_snapshot -%}
                        {%- do snapshots.append(relation) -%}
                    {%- elif node.unique_id in selected_resources -%}
                        {%- do incrementals.append(relation) -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if snapshots -%}
        {%- set query -%}
            select organization_id
            from {{ source('zoho_books', 'sync_runs') }}
            where status = 'success' and organization_id is not null
            order by started_at asc
            limit 1
        {%- endset -%}
        {%- set found = run_query(query).columns[0].values() -%}
        {%- if not found -%}
            {%- do exceptions.raise_compiler_error(
                'the snapshots ' ~ snapshots | join(', ') ~ ' were built before several '
                ~ 'organizations, but zoho_staging.sync_runs names no organization to give their '
                ~ 'history: run the loader once (`make run`), then dbt build (CHANGELOG, Several '
                ~ 'organizations)'
            ) -%}
        {%- endif -%}
        {%- set organization_id = found[0] -%}
        {%- for relation in snapshots -%}
            {%- do log(
                'upgrade: ' ~ relation ~ ' gains organization_id = ' ~ organization_id
                ~ ' on its stored history', info=true
            ) -%}
            {%- call statement('upgrade_' ~ relation.identifier) -%}
                alter table {{ relation }} add column if not exists organization_id text;
                update {{ relation }}
                set organization_id = {{ sql_literal(organization_id) }}
                where organization_id is null;
                drop index if exists {{ relation.schema }}.{{ relation.identifier }}__unique_key;
                drop index if exists {{ relation.schema }}.{{ relation.identifier }}__current
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for relation in incrementals -%}
        {%- do log('upgrade: ' ~ relation ~ ' has no organization_id: built again in full', info=true) -%}
        {%- do adapter.drop_relation(relation) -%}
    {%- endfor -%}
    {%- if snapshots or incrementals -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    select 1
{%- endmacro -%}
