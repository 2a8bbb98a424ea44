"""The optional Dagster deployment of the loader: one partition per Zoho organization,
each loaded by its own dlt pipeline, then the dbt project's models as assets.

Installed with the `orchestration` dependency group (pyproject.toml); nothing in loader/
imports it, and the cron path (`python -m loader.job`) runs without it. `make orchestrate`
starts it locally; docs/scaling.md describes a deployment and its capacity model.

    organizations.py   the partitions: the loader's configured organizations
    definitions.py     the Dagster definitions: partitions, assets, schedule, sensors
    dagster.yaml       the instance's limits: one run per organization, warehouse pool
    __main__.py        `python -m orchestration dev`: the local instance and UI
"""
