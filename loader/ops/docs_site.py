"""The dbt docs site, as `make docs` and `make docs-serve` run it.

    python -m loader.ops.docs_site generate [DBT ARGS]   dbt docs generate, refuse an empty catalog
    python -m loader.ops.docs_site serve [DBT ARGS]      dbt docs serve on 127.0.0.1:8080

`dbt docs generate` on a database without the built models writes a catalog.json with no
columns and succeeds: the site then shows no types, which nobody notices until they look
for one. `generate` makes that an error (exit 1, one line naming the database and the fix).
Both run with the PG* variables of the warehouse in use (`loader.warehouse exec`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from loader.names import ROOT
from loader.ops import dbt

DEFAULT_PORT = 8080


def _target_path(args: list[str]) -> Path:
    """Where dbt writes the site: --target-path, else DBT_TARGET_PATH, else target/."""
    if "--target-path" in args:
        return Path(args[args.index("--target-path") + 1])
    return Path(os.environ.get("DBT_TARGET_PATH") or ROOT / "target")


def catalog_columns(catalog: Path) -> int:
    """How many columns catalog.json describes (models, snapshots and sources)."""
    data = json.loads(catalog.read_text())
    return sum(
        len(node.get("columns") or {})
        for section in ("nodes", "sources")
        for node in (data.get(section) or {}).values()
    )


def generate(args: list[str]) -> int:
    """`dbt docs generate`, then exit 1 when its catalog has no columns."""
    code = subprocess.call(dbt.command("docs", "generate", *args), cwd=ROOT)
    if code:
        return code
    catalog = _target_path(args) / "catalog.json"
    if catalog_columns(catalog) == 0:
        database = os.environ.get("PGDATABASE", "?")
        print(
            f"error: {catalog} has no columns: database {database} has no built models; "
            "run `make demo` or `make run` first (or set PGDATABASE to the warehouse's database)",
            file=sys.stderr,
        )
        return 1
    print(f"docs generated in {catalog.parent}; `make docs-serve` serves them on 127.0.0.1")
    return 0


def serve(args: list[str]) -> int:
    """`dbt docs serve` on the loopback interface only, without opening a browser."""
    if "--port" not in args:
        args = ["--port", os.environ.get("DOCS_PORT") or str(DEFAULT_PORT), *args]
    return subprocess.call(
        dbt.command("docs", "serve", "--host", "127.0.0.1", "--no-browser", *args), cwd=ROOT
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else ""
    if command == "generate":
        return generate(args)
    if command == "serve":
        return serve(args)
    print(f"error: unknown command {command!r} (generate, serve)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
