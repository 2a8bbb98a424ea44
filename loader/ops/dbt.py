"""The dbt command line, built in one place (the job's build, the webhook worker's rebuild,
the docs site and the analyses run dbt as a process of this virtualenv's `dbt`, from the
project root), and dbt kept warm in a long-lived process (`DbtRunner`).

dbt kept warm in a long-lived process: the webhook worker's rebuilds in seconds.

Starting `dbt build` as a process costs its imports, reading the project and the manifest
(partial parsing) before the first model: about 4-5 s on this project, for a rebuild of a
few models after a price change. `DbtRunner` keeps dbt's programmatic runner
(`dbt.cli.main.dbtRunner`, dbt's documented API for in-process invocations) and the parsed
manifest in the process: the first build parses (dbt's partial parsing makes later parses
cheap), the next ones reuse the manifest as long as the project's files are the same
(`project_fingerprint`), and only then parse again. `warm` parses ahead of the first build
(the webhook worker calls it when it starts), so the first change after a start is as
quick as the next ones.

A rebuild after a change (`rebuild`) builds the storefront's marts first: the models and
snapshots the dbt exposure FIRST_EXPOSURE is built from, and the tests of only those, then
the rest of `source:zoho_books.<table>+` in a second build (`phases`: dbt's own selection,
listed once per set of tables and manifest). The project runs dbt on one thread (profiles.yml
says why), and dbt orders a build by depth alone: `product_prices` came after the unrelated
bill, cost and stock marts and their tests, a second later.

Each build writes dbt's run results (`run_results.json`, which the Dagster sensor reads)
but not the 1.5 MB manifest dbt would otherwise write again after every build (it did not
change: about half a second of each rebuild), and its log file (`logs/dbt.log` in the
target path) at info level unless DBT_LOG_LEVEL_FILE says otherwise.

dbt's runner is not safe for two invocations at once, and it reads the profile's
`env_var()`s from the process environment: `DbtRunner` serializes its invocations and sets
the warehouse's PG* variables for each. The job still runs dbt as its own process (a killed
build is told apart from a failed one, and its memory is its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from loader.names import ROOT

# The production build: models, data tests and snapshots. dbt's unit tests check the SQL
# of the pricing rules against fixed inputs, which the data cannot change: they run in
# `make test` (CI), as dbt advises, not at every job or webhook batch.
BUILD = ("build", "--exclude-resource-type", "unit_test")
FRESHNESS = ("source", "freshness")
# What the storefront reads (the dbt exposure in dbt_project/models/marts/
# _marts__exposures.yml: products, product_prices, product_stock): a webhook rebuild builds
# it, and what it is built from, before the rest of what the change touches.
FIRST_EXPOSURE = "storefront"
BUILT = ("model", "snapshot", "seed")


def executable() -> str:
    """The `dbt` beside this Python (the project's virtualenv), whatever PATH cron has."""
    return str(Path(sys.executable).with_name("dbt"))


def command(*args: str) -> list[str]:
    """`dbt <args>` as an argv."""
    return [executable(), *args]


log = logging.getLogger("loader.ops.dbt")

DBT_SOURCE = "zoho_books"
# What the build reads besides the raw tables: a change here means parse (and build) again.
DBT_PROJECT_FILES = (ROOT / "dbt_project.yml", ROOT / "dbt_project")


def project_fingerprint(schema: str = "") -> str:
    """A hash of the dbt project's files (and `schema`, the marts' schema): what the marts
    are built from besides the raw tables."""
    digest = hashlib.sha256(schema.encode())
    for top in DBT_PROJECT_FILES:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for path in files:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def selectors(tables: Sequence[str]) -> list[str]:
    """dbt selectors of everything downstream of these raw tables."""
    return [f"source:{DBT_SOURCE}.{table}+" for table in sorted(set(tables))]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` set for the block (dbt renders the profile from it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DbtRunner:
    """dbt's programmatic runner with its manifest kept between builds (see the module).

    `rebuild(pg, tables)` has the signature of the webhook worker's `rebuild` hook."""

    def __init__(
        self,
        target_path: Path | None = None,
        profiles_dir: Path | None = None,
        fingerprint: Callable[[], str] = project_fingerprint,
    ) -> None:
        self.target_path = target_path or ROOT / ".local" / "webhooks-dbt-target"
        self.profiles_dir = profiles_dir or Path(os.environ.get("DBT_PROFILES_DIR") or ROOT)
        self.fingerprint = fingerprint
        self.parses = 0  # how often the project was parsed (the first build, or a change)
        self._manifest: Any = None
        self._parsed_from: str | None = None
        self._lock = threading.Lock()
        self._phases: dict[tuple[tuple[str, ...], str | None], tuple[list[str], list[str]]] = {}

    def _paths(self) -> list[str]:
        return [
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.target_path / "logs"),
        ]

    def _invoke(self, args: list[str]) -> Any:
        from dbt.cli.main import dbtRunner

        return dbtRunner(manifest=self._manifest).invoke([*args, *self._paths()])

    def _ensure_manifest(self) -> None:
        """Parse the project when it was never parsed here, or its files changed."""
        current = self.fingerprint()
        if self._manifest is not None and current == self._parsed_from:
            return
        self._manifest = None
        result = self._invoke(["parse", "--quiet"])
        if not result.success or result.result is None:
            raise RuntimeError(f"dbt could not parse the project: {_why(result)}")
        self._manifest, self._parsed_from = result.result, current
        self.parses += 1

    @staticmethod
    def _quick() -> list[str]:
        """What a rebuild leaves out: the console's lines, the unchanged manifest's
        rewrite (see the module) and dbt's debug lines in its log file (every SQL statement:
        half a second a rebuild here; DBT_LOG_LEVEL_FILE=debug brings them back)."""
        quiet = ["--quiet", "--no-write-json"]
        if os.environ.get("DBT_LOG_LEVEL_FILE"):
            return quiet
        return [*quiet, "--log-level-file", "info"]

    def warm(self, pg: dict[str, str]) -> None:
        """Parse the project now (dbt's imports, the manifest), before a build needs it."""
        with self._lock, _environment(pg):
            self._ensure_manifest()

    def build(self, pg: dict[str, str], select: Sequence[str]) -> Any:
        """`dbt build --select ...` in this process; raises RuntimeError naming the first
        failed node. Returns dbt's result (its `results` per node)."""
        with self._lock, _environment(pg):
            self._ensure_manifest()
            return self._build([["--select", *select]], ", ".join(select))

    def rebuild(self, pg: dict[str, str], tables: Sequence[str]) -> None:
        """The marts downstream of the raw `tables` (the webhook worker's hook): what the
        storefront reads first, then the rest (`phases`)."""
        with self._lock, _environment(pg):
            self._ensure_manifest()
            builds = [
                ["--indirect-selection", "empty", "--select", *names]
                for names in self.phases(tables)
                if names
            ]
            self._build(builds, ", ".join(selectors(tables)))

    def phases(self, tables: Sequence[str]) -> tuple[list[str], list[str]]:
        """What a rebuild of the raw `tables` builds, in two parts (node names): first the
        models and snapshots the storefront exposure (FIRST_EXPOSURE) is built from and the
        tests of nothing else the rebuild builds; then the rest of what
        `dbt build --select source:zoho_books.<table>+` builds (dbt's own selection, tests
        included), each test once both of its models are built. A change that does not reach
        the storefront has an empty first part. (The manifest parsed, under the lock.)"""
        key = (tuple(sorted(set(tables))), self._parsed_from)
        if key in self._phases:
            return self._phases[key]
        listed = self._invoke(
            [
                "ls",
                "--log-level",
                "none",  # the list is the result, not printed
                *BUILD[1:],
                "--select",
                *selectors(tables),
                "--output",
                "json",
                "--output-keys",
                "unique_id",
                "name",
                "resource_type",
                "depends_on",
            ]
        )
        if not listed.success:
            raise RuntimeError(f"dbt could not list {', '.join(selectors(tables))}: {_why(listed)}")
        nodes = {n["unique_id"]: n for n in map(json.loads, listed.result)}
        built = {i for i, n in nodes.items() if n["resource_type"] in BUILT}
        first: set[str] = set()
        todo = [
            parent
            for i, n in nodes.items()
            if n["resource_type"] == "exposure" and n["name"] == FIRST_EXPOSURE
            for parent in n["depends_on"]["nodes"]
        ]
        while todo:  # the storefront's marts and what they are built from, in this rebuild
            node = todo.pop()
            if node in built and node not in first:
                first.add(node)
                todo.extend(nodes[node]["depends_on"]["nodes"])
        later = built - first
        tests = {i for i, n in nodes.items() if n["resource_type"] == "test"}
        for test in tests:
            if first and not later & set(nodes[test]["depends_on"]["nodes"]):
                first.add(test)
            else:
                later.add(test)
        plan = (sorted(nodes[i]["name"] for i in first), sorted(nodes[i]["name"] for i in later))
        self._phases[key] = plan
        return plan

    def _build(self, builds: list[list[str]], what: str) -> Any:
        """One `dbt build` per selection in `builds`, each once the one before passed; their
        results written as one run_results.json (one rebuild for the Dagster sensor).
        Raises RuntimeError naming the first failed node."""
        done = []
        for selection in builds:
            done.append(self._invoke([*BUILD, *self._quick(), *selection]))
            if not done[-1].success:
                break
        results = [r.result for r in done if hasattr(r.result, "write")]
        combined: Any = results[-1] if results else None
        if len(results) > 1:
            combined = dataclasses.replace(
                combined,
                results=[node for r in results for node in r.results],
                elapsed_time=sum(r.elapsed_time for r in results),
            )
        # the run results dbt writes with --write-json, without the unchanged manifest
        # (`write` is what dbt itself calls on the result it returns)
        if combined is not None:
            self.target_path.mkdir(parents=True, exist_ok=True)
            combined.write(str(self.target_path / "run_results.json"))
        if done and not done[-1].success:  # the loop stopped at the first failed build
            raise RuntimeError(f"dbt build of {what} failed: {_why(done[-1])}")
        return combined


def _why(result: Any) -> str:
    """The first failed node and its message, or dbt's exception, in one line."""
    if result.exception is not None:
        return str(result.exception).strip().splitlines()[0][:300]
    for node in getattr(result.result, "results", None) or []:
        if str(node.status) in ("error", "fail"):
            message = (node.message or "").strip().splitlines()
            return f"{node.node.resource_type} {node.node.name}: {message[0] if message else ''}"
    return "see dbt's log"
