"""Helpers for tests and benchmarks: point the loader at a simulator, and compare what
landed in `zoho_staging` with what the simulator holds.

"The same tables as a clean run" is checked against the simulator's own data, which is
stricter than comparing two loads: every live record present once with its current
version, every deleted one marked (items, price lists) and every line of every invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from loader.zoho.contract import TABLES
from loader.zoho.records import parse_zoho_timestamp

Query = Callable[..., list[tuple]]

# Retries in tests: same policy, shorter waits (a 429 storm test would otherwise sleep).
FAST_RETRIES = {
    "RUNTIME__REQUEST_MAX_ATTEMPTS": "12",
    "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
    "RUNTIME__REQUEST_MAX_RETRY_DELAY": "1",
}


def loader_env(sim: Any, pg: dict[str, str], workdir: Path, **settings: str) -> dict[str, str]:
    """Environment for a loader run against `sim` and the database `pg`; `settings` are
    extra SOURCES__ZOHO_BOOKS__<NAME> values (e.g. DETAILS_BUDGET="5")."""
    env = {
        **pg,
        **sim.env(),
        **FAST_RETRIES,
        "SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH": str(workdir / "zoho_token.json"),
        "SOURCES__ZOHO_BOOKS__MAX_CALLS_PER_MINUTE": "100000",
        # Runs seconds apart would read as a very fast cron to the API budget planner;
        # tests of other behaviour run every listing every run (tests of the planner set
        # DAILY_CALL_BUDGET themselves).
        "SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET": "0",
        "DLT_PIPELINES_DIR": str(workdir / "dlt"),
    }
    env.update({f"SOURCES__ZOHO_BOOKS__{k.upper()}": str(v) for k, v in settings.items()})
    return env


def _ts(value: Any) -> Any:
    return parse_zoho_timestamp(value)


def _num(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).normalize()


def simulator_tables(sim: Any) -> dict[str, set[tuple]]:
    """What the warehouse must hold for the simulator's current data."""
    items = {
        (i, r["status"], _num(r["rate"]), _ts(r["last_modified_time"]))
        for i, r in sim.items.items()
    }
    contacts = {(i, _ts(r["last_modified_time"])) for i, r in sim.contacts.items()}
    invoices, details, lines = set(), set(), set()
    for invoice_id, inv in sim.invoices.items():
        modified = _ts(inv["last_modified_time"])
        invoices.add((invoice_id, inv["status"], _num(inv["total"]), modified))
        details.add((invoice_id, modified, _num(inv["sub_total"])))
        for line in inv["line_items"]:
            lines.add(
                (line["line_item_id"], invoice_id, _num(line["quantity"]), _num(line["rate"]))
            )
    bills, bill_details, bill_lines = set(), set(), set()
    for bill_id, bill in sim.bills.items():
        modified = _ts(bill["last_modified_time"])
        bills.add((bill_id, bill["status"], _num(bill["total"]), modified))
        bill_details.add((bill_id, modified, _num(bill["sub_total"])))
        for line in bill["line_items"]:
            bill_lines.add(
                (line["line_item_id"], bill_id, _num(line["quantity"]), _num(line["rate"]))
            )
    pricebooks, pricebook_items = set(), set()
    for pricebook_id, pb in sim.pricebooks.items():
        pricebooks.add((pricebook_id, pb["name"], pb["status"]))
        for row in pb.get("pricebook_items") or []:
            pricebook_items.add((pricebook_id, row["item_id"], _num(row["pricebook_rate"])))
    return {
        "items": items,
        "contacts": contacts,
        "invoices": invoices,
        "invoice_details": details,
        "invoice_line_items": lines,
        "pricebooks": pricebooks,
        "pricebook_items": pricebook_items,
        "bills": bills,
        "bill_details": bill_details,
        "bill_line_items": bill_lines,
    }


def _norm(rows: list[tuple]) -> set[tuple]:
    return {tuple(_num(v) if isinstance(v, Decimal) else v for v in row) for row in rows}


def warehouse_tables(query: Query, sim: Any) -> dict[str, set[tuple]]:
    """The same shapes read from `zoho_staging` (live rows; for contacts and invoices,
    which no listing can tell deleted, only the ones the simulator still has)."""
    live_contacts = set(sim.contacts)
    live_invoices = set(sim.invoices)
    live_bills = set(sim.bills)
    s = "zoho_staging"
    present = {
        r[0]
        for r in query(
            "select table_name from information_schema.tables where table_schema = 'zoho_staging'"
        )
    }

    def maybe(table: str, sql: str) -> list[tuple]:
        """A run that loaded only some resources has not made the bill tables."""
        return query(sql) if table in present else []

    tables = {
        "items": _norm(
            query(
                f"select item_id, status, rate, last_modified_time from {s}.items "
                "where not is_deleted"
            )
        ),
        "contacts": {
            r
            for r in _norm(query(f"select contact_id, last_modified_time from {s}.contacts"))
            if r[0] in live_contacts
        },
        "invoices": {
            r
            for r in _norm(
                query(f"select invoice_id, status, total, last_modified_time from {s}.invoices")
            )
            if r[0] in live_invoices
        },
        "invoice_details": {
            r
            for r in _norm(
                query(f"select invoice_id, last_modified_time, sub_total from {s}.invoice_details")
            )
            if r[0] in live_invoices
        },
        "invoice_line_items": {
            r
            for r in _norm(
                query(
                    f"select line_item_id, invoice_id, quantity, rate from {s}.invoice_line_items"
                )
            )
            if r[1] in live_invoices
        },
        "pricebooks": _norm(
            query(f"select pricebook_id, name, status from {s}.pricebooks where not is_deleted")
        ),
        "pricebook_items": _norm(
            query(
                f"select pricebook_id, item_id, pricebook_rate from {s}.pricebook_items "
                "where not is_deleted"
            )
        ),
        "bills": {
            r
            for r in _norm(
                maybe("bills", f"select bill_id, status, total, last_modified_time from {s}.bills")
            )
            if r[0] in live_bills
        },
        "bill_details": {
            r
            for r in _norm(
                maybe(
                    "bill_details",
                    f"select bill_id, last_modified_time, sub_total from {s}.bill_details",
                )
            )
            if r[0] in live_bills
        },
        "bill_line_items": {
            r
            for r in _norm(
                maybe(
                    "bill_line_items",
                    f"select line_item_id, bill_id, quantity, rate from {s}.bill_line_items",
                )
            )
            if r[1] in live_bills
        },
    }
    return tables


# the loader's primary keys, as SQL column lists
KEY_COLUMNS = {name: ", ".join(table.key) for name, table in TABLES.items()}


def duplicate_keys(query: Query) -> dict[str, int]:
    """Tables whose primary key repeats, with the number of extra rows."""
    found = {}
    present = {
        r[0]
        for r in query(
            "select table_name from information_schema.tables where table_schema = 'zoho_staging'"
        )
    }
    for table, key in KEY_COLUMNS.items():
        if table not in present:
            continue
        total, distinct = query(
            f"select count(*), count(distinct ({key})) from zoho_staging.{table}"
        )[0]
        if total != distinct:
            found[table] = total - distinct
    return found


def differences(query: Query, sim: Any) -> dict[str, dict[str, list]]:
    """Per table, rows missing from the warehouse and rows it has that it should not."""
    expected, actual = simulator_tables(sim), warehouse_tables(query, sim)
    diff = {}
    for table in expected:
        missing = sorted(expected[table] - actual[table], key=str)[:5]
        extra = sorted(actual[table] - expected[table], key=str)[:5]
        if missing or extra:
            diff[table] = {"missing": missing, "unexpected": extra}
    return diff


def pass_quota_reset(sim: Any, pg_query: Any) -> None:
    """Zoho's quota day ends: the simulator starts the next one, and the reset time the
    loader recorded (from X-Rate-Limit-Reset, on the real clock, which a test cannot
    advance) is moved to now."""
    sim.advance_to_next_day()
    pg_query(
        "update zoho_staging.sync_runs set quota_reset_at = now() - interval '1 second' "
        "where quota_reset_at > now()"
    )


def unique_indexes(pg_query: Query) -> dict[str, list[str]]:
    """Each raw table's valid unique indexes (not dlt's own `_dlt_id` one) by column list."""
    rows = pg_query(
        "select tables.relname, array_agg(attributes.attname::text order by attributes.attname) "
        "from pg_index as indexes "
        "join pg_class as tables on tables.oid = indexes.indrelid "
        "join pg_attribute as attributes "
        "  on attributes.attrelid = indexes.indrelid and attributes.attnum = any(indexes.indkey) "
        "where tables.relnamespace = 'zoho_staging'::regnamespace "
        "  and indexes.indisunique and indexes.indisvalid and attributes.attname <> '_dlt_id' "
        "group by tables.relname, indexes.indexrelid"
    )
    return {table: columns for table, columns in rows}
