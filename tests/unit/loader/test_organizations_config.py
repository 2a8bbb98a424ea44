"""Several organizations in the configuration (loader/zoho/organizations.py): the
single-organization settings unchanged, named sections inheriting [sources.zoho_books],
and each organization's own pipeline, staging dataset and token cache."""

from __future__ import annotations

import pytest

from loader.errors import ConfigError
from loader.ops.job import worst
from loader.zoho.config import load_config
from loader.zoho.organizations import (
    ORGANIZATION_ENV,
    configured_organizations,
    organization,
    selected_organization,
)

SHARED = {
    "SOURCES__ZOHO_BOOKS__CLIENT_ID": "shared-client",
    "SOURCES__ZOHO_BOOKS__CLIENT_SECRET": "shared-secret",
    "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN": "shared-refresh",
}


@pytest.fixture
def env(monkeypatch):
    def set_env(**values: str) -> None:
        for name, value in {**SHARED, **values}.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_single_organization_settings_keep_their_pipeline_and_staging_dataset(env):
    env(SOURCES__ZOHO_BOOKS__ORGANIZATION_ID="111")
    (only,) = configured_organizations()
    assert (only.key, only.pipeline_name, only.staging_dataset_layout) == (
        "111",
        "zoho_books",
        "%s_staging",
    )
    assert selected_organization() == only
    assert load_config(organization=only).organization_id == "111"


def test_named_organizations_inherit_the_shared_self_client_and_override_the_rest(env):
    env(
        SOURCES__ZOHO_BOOKS__ORGANIZATION_ID="111",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID="222",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__DATA_CENTER="eu",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__DAILY_CALL_BUDGET="500",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__WEBHOOK_SECRET="eu-hook-secret",
    )
    first, eu = configured_organizations()
    assert first.pipeline_name == "zoho_books"
    assert (eu.key, eu.name, eu.pipeline_name) == ("222", "eu", "zoho_books_222")
    assert eu.staging_dataset_layout == "%s_staging_222"
    config = load_config(organization=eu)
    assert config.organization_id == "222"
    assert str(config.client_id) == "shared-client"  # one Self Client reaches both
    assert config.data_center == "eu" and config.daily_call_budget == 500
    assert str(config.webhook_secret) == "eu-hook-secret"
    assert config.token_cache_path != load_config(organization=first).token_cache_path
    assert load_config(organization=first).data_center == "com"
    assert organization("eu") == organization("222") == eu


def test_several_organizations_need_a_choice_for_one_run(env, monkeypatch):
    env(
        SOURCES__ZOHO_BOOKS__ORGANIZATION_ID="111",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID="222",
    )
    with pytest.raises(ConfigError, match="--org"):
        selected_organization()
    monkeypatch.setenv(ORGANIZATION_ENV, "222")
    selected = selected_organization()
    assert selected is not None and selected.key == "222"
    with pytest.raises(ConfigError, match="not configured"):
        organization("333")


def test_a_section_without_an_id_or_a_repeated_id_is_a_one_line_error(env, monkeypatch):
    env(SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__DATA_CENTER="eu")
    with pytest.raises(
        ConfigError, match="SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID"
    ):
        configured_organizations()
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID", "9")
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATIONS__UK__ORGANIZATION_ID", "9")
    with pytest.raises(ConfigError, match="configured twice"):
        configured_organizations()


def test_the_job_of_several_organizations_exits_with_the_worst_code():
    assert worst([0, 0]) == 0
    assert worst([0, 75]) == 75
    assert worst([75, 3, 0]) == 3
    assert worst([3, 10, 0]) == 10


def test_a_run_gets_its_organizations_pipeline_staging_dataset_and_settings(env):
    """What the job's `--org`, the Dagster partition (explicit settings naming the id) and
    $ZOHO_BOOKS_ORGANIZATION all reach: the organization's own names and settings."""
    from loader.run.pipeline import RunOptions, prepare_run

    env(
        SOURCES__ZOHO_BOOKS__ORGANIZATION_ID="111",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID="222",
        SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__DATA_CENTER="eu",
    )
    eu = prepare_run(RunOptions(settings={"organization_id": "222"}))
    assert eu.client.settings.organization_id == "222"
    assert eu.client.settings.api_base_url == "https://www.zohoapis.eu/books/v3"
    assert (eu.pipeline_name, eu.staging_dataset_layout) == ("zoho_books_222", "%s_staging_222")
    first = prepare_run(RunOptions(organization=organization("111")))
    assert (first.pipeline_name, first.staging_dataset_layout) == ("zoho_books", "%s_staging")
    assert first.client.settings.api_base_url == "https://www.zohoapis.com/books/v3"
