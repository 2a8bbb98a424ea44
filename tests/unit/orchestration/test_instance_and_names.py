"""What the Dagster deployment promises before anything runs: the instance configuration
(orchestration/dagster.yaml) is one Dagster accepts, with one run per organization, the
warehouse pool's limit and pool slots freed after a cancelled run; each organization gets
its own dlt pipeline and staging dataset; organizations come from the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

dg = pytest.importorskip("dagster", reason="the orchestration dependency group is not installed")

from orchestration.organizations import (  # noqa: E402
    Organization,
    configured_organizations,
    organization,
)

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


def test_each_organization_has_its_own_pipeline_and_staging_dataset():
    first, second = Organization("60012345"), Organization("Acme-EU")
    assert first.pipeline_name == "zoho_books_60012345"
    assert second.pipeline_name == "zoho_books_acme_eu"
    assert first.staging_dataset_layout % "zoho_staging" == "zoho_staging_staging_60012345"
    assert first.staging_dataset_layout != second.staging_dataset_layout


def test_organizations_come_from_the_configuration(monkeypatch):
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__ORGANIZATION_ID", " 60012345 ")
    assert configured_organizations() == [Organization("60012345", {"organization_id": "60012345"})]
    assert organization("60012345").settings == {"organization_id": "60012345"}
    with pytest.raises(LookupError, match="not in the configuration"):
        organization("70000000")
    monkeypatch.delenv("SOURCES__ZOHO_BOOKS__ORGANIZATION_ID")
    assert configured_organizations() == []
