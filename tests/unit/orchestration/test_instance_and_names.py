"""What the Dagster deployment promises before anything runs: the instance configuration
(orchestration/dagster.yaml) is one Dagster accepts, with one run per organization, the
warehouse pool's limit and pool slots freed after a cancelled run; the partitions are the
loader's configured organizations, each on the loader's pipeline and staging dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

dg = pytest.importorskip("dagster", reason="the orchestration dependency group is not installed")

from loader.errors import ConfigError  # noqa: E402
from orchestration.organizations import organization, partition_keys  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A Dagster instance from the shipped dagster.yaml, its PostgreSQL storage swapped for
    the default (SQLite in tmp_path): every other setting is validated and applied."""
    config = yaml.safe_load((ROOT / "orchestration" / "dagster.yaml").read_text())
    assert "postgres" in config.pop("storage")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as found:
        yield found


def test_one_run_per_organization_at_a_time(instance):
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in [dict(limit) for limit in limits]


def test_the_warehouse_pool_has_a_limit_and_cancelled_runs_free_their_slots(instance):
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit and pools.default_pool_limit >= 1
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert instance.run_monitoring_enabled


def test_partitions_use_the_loaders_organizations_and_pipeline_names(monkeypatch):
    """One source of truth: the partitions are the loader's configured organizations, and
    a partition runs on the loader's pipeline of its organization (the organization of
    [sources.zoho_books] keeps `zoho_books`, as under cron)."""
    for name in list(os.environ):
        if name.startswith("SOURCES__ZOHO_BOOKS__"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATION_ID", " 60012345 ")
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__ORGANIZATION_ID", "70012345")
    assert partition_keys() == ["60012345", "70012345"]
    first, second = organization("60012345"), organization("70012345")
    assert (first.pipeline_name, first.staging_dataset_layout) == ("zoho_books", "%s_staging")
    assert second.pipeline_name == "zoho_books_70012345"
    assert second.staging_dataset_layout % "zoho_staging" == "zoho_staging_staging_70012345"


def test_a_partition_the_configuration_no_longer_lists_names_the_fix(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SOURCES__ZOHO_BOOKS__"):
            monkeypatch.delenv(name)
    assert partition_keys() == []
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATION_ID", "60012345")
    with pytest.raises(ConfigError, match=r"'70000000' is not configured.*organizations"):
        organization("70000000")
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATIONS__EU__DATA_CENTER", "eu")
    with pytest.raises(ConfigError, match="has no organization_id"):
        partition_keys()
