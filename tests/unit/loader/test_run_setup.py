"""Before any call to Zoho: settings resolution, resource selection, the lock key."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from loader.errors import ConfigError, QuotaExhausted, find_loader_error
from loader.run.pipeline import RunOptions, lock_key, prepare_run, select_resources
from loader.zoho.config import load_config
from loader.zoho.modules import ALL_RESOURCES
from loader.zoho.resources.invoices import zoho_filter_time

ROOT = Path(__file__).resolve().parents[3]
SIM_ENV = {
    "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID": "60012345678",
    "SOURCES__ZOHO_BOOKS__CLIENT_ID": "1000.CLIENT",
    "SOURCES__ZOHO_BOOKS__CLIENT_SECRET": "secret-value",
    "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN": "1000.refresh",
}


@pytest.fixture
def zoho_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("SOURCES__"):
            monkeypatch.delenv(name)
    for name, value in SIM_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH", str(tmp_path / "t.json"))
    return monkeypatch


def test_configured_source_resolves_settings_from_the_environment(zoho_env):
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__DATA_CENTER", "ca")
    run = prepare_run(RunOptions())
    assert run.client.settings.organization_id == "60012345678"
    assert run.client.settings.accounts_url == "https://accounts.zohocloud.ca"
    assert run.client.settings.max_calls_per_minute == 90  # .dlt/config.toml
    assert run.details_budget == 300


def test_missing_secret_is_one_line_naming_the_variable(zoho_env):
    zoho_env.delenv("SOURCES__ZOHO_BOOKS__CLIENT_SECRET")
    with pytest.raises(ConfigError) as raised:
        load_config()
    message = str(raised.value)
    assert "SOURCES__ZOHO_BOOKS__CLIENT_SECRET" in message
    assert "\n" not in message


def test_missing_organization_id_names_the_variable(zoho_env):
    zoho_env.delenv("SOURCES__ZOHO_BOOKS__ORGANIZATION_ID")
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__ORGANIZATION_ID"):
        load_config()


def test_every_missing_or_empty_setting_is_named_in_one_message(zoho_env):
    for name in SIM_ENV:
        zoho_env.delenv(name)
    with pytest.raises(ConfigError) as missing:
        load_config()
    for name in SIM_ENV:
        zoho_env.setenv(name, " ")
    with pytest.raises(ConfigError) as empty:
        load_config()
    for raised in (missing, empty):
        assert all(name in str(raised.value) for name in SIM_ENV), str(raised.value)


def test_unknown_data_center_is_a_configuration_error(zoho_env):
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__DATA_CENTER", "mars")
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__DATA_CENTER"):
        load_config()


def test_non_numeric_limit_names_the_setting_without_echoing_values(zoho_env):
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__MAX_CONCURRENCY", "lots")
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__MAX_CONCURRENCY") as raised:
        load_config()
    assert "secret-value" not in str(raised.value)


def test_zero_concurrency_is_refused(zoho_env):
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__MAX_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="MAX_CONCURRENCY"):
        load_config()


@pytest.mark.parametrize("name", ["API_BASE_URL", "ACCOUNTS_URL"])
@pytest.mark.parametrize("value", ["www.zohoapis.eu/books/v3", "ftp://host", "https://"])
def test_malformed_host_override_is_one_line_naming_the_variable(zoho_env, name, value):
    zoho_env.setenv(f"SOURCES__ZOHO_BOOKS__{name}", value)
    with pytest.raises(ConfigError, match=f"SOURCES__ZOHO_BOOKS__{name} must be an http") as e:
        load_config()
    assert "\n" not in str(e.value)


def test_negative_details_budget_is_refused(zoho_env):
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__DETAILS_BUDGET", "-1")
    with pytest.raises(ConfigError, match="DETAILS_BUDGET must be at least 0"):
        load_config()


def test_settings_of_later_features_are_optional_and_read_when_set(zoho_env):
    assert load_config().webhook_secret is None
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET", "hook-secret")
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET", "900")
    config = load_config()
    assert (config.webhook_secret, config.daily_call_budget) == ("hook-secret", 900)
    assert "hook-secret" not in repr(config)


def test_webhook_worker_settings_are_declared_with_defaults_and_checked(zoho_env):
    from loader.webhooks.config import WorkerSettings, read_worker_settings

    assert read_worker_settings(load_config()) == WorkerSettings()
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__WEBHOOK_BATCH_SIZE", "50")
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__WEBHOOK_RETRY_SECONDS", "0.5")
    worker = read_worker_settings(load_config())
    assert (worker.batch_size, worker.max_attempts, worker.retry_seconds) == (50, 8, 0.5)
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__WEBHOOK_MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigError, match="WEBHOOK_MAX_ATTEMPTS must be at least 1"):
        load_config()
    zoho_env.setenv("SOURCES__ZOHO_BOOKS__WEBHOOK_MAX_ATTEMPTS", "many")
    with pytest.raises(ConfigError, match="WEBHOOK_MAX_ATTEMPTS has a value that is not"):
        load_config()


def test_all_resources_by_default_and_details_travel_together():
    assert select_resources(None) == list(ALL_RESOURCES)
    assert select_resources(["invoice_line_items"]) == ["invoice_details", "invoice_line_items"]
    assert select_resources(["items", "invoices"]) == ["items", "invoices"]


def test_unknown_resource_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="choose from organizations, items"):
        select_resources(["itemz"])


def test_lock_key_is_stable_per_organization_and_fits_postgres_bigint():
    assert lock_key("60012345678") == lock_key("60012345678")
    assert lock_key("60012345678") != lock_key("60012345679")
    assert -(2**63) <= lock_key("60012345678") < 2**63


def test_loader_errors_are_found_inside_wrapping_exceptions():
    try:
        try:
            raise QuotaExhausted("quota")
        except QuotaExhausted as inner:
            raise RuntimeError("PipelineStepFailed: extract failed") from inner
    except RuntimeError as outer:
        assert isinstance(find_loader_error(outer), QuotaExhausted)
    assert find_loader_error(ValueError("bug")) is None


def test_invoice_filter_time_is_utc_in_zohos_format():
    baghdad = timezone(timedelta(hours=3))
    stamp = datetime(2025, 10, 31, 14, 41, 13, tzinfo=baghdad)
    assert zoho_filter_time(stamp) == "2025-10-31T11:41:13+0000"


def test_tests_never_read_the_operators_secrets(zoho_env):
    """The checkout's .dlt/secrets.toml (if an operator wrote one) is not a provider here."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    run_context = Container()[PluggableRunContext].context
    assert Path(run_context.settings_dir).resolve() != (ROOT / ".dlt").resolve()
    assert not (Path(run_context.settings_dir) / "secrets.toml").exists()
