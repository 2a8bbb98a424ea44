"""Errors a user can act on, each with the exit code `python -m loader` ends with.

They are raised deep inside resources (and wrapped by dlt on the way out), caught once at
the CLI edge, and printed as one line: the message names the cause and the fix. Anything
else is a bug or an outage and keeps its traceback (exit code 1).
"""

from __future__ import annotations

from dataclasses import dataclass

REASON_LIMIT = 1000  # characters a stored reason keeps (quarantine, run log, job record)


@dataclass(frozen=True)
class ExitCode:
    """One exit code: `label` for `--help`, `meaning` and `action` for the table in
    docs/configuration.md (a test compares it with `exit_code_table()`)."""

    code: int
    label: str
    meaning: str
    action: str


EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2
EXIT_QUOTA = 3
EXIT_TOKEN_THROTTLED = 4
EXIT_ZOHO_UNREACHABLE = 5
EXIT_WAREHOUSE_UNREACHABLE = 6
EXIT_JOB_STEP_FAILED = 10  # the job only (python -m loader.job): a dbt step failed or was killed
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: "try again later", what cron wrappers expect

# Every exit code of `python -m loader run` and the job, declared once: the CLI's help and
# docs/configuration.md's table are made from this.
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, "ok", "success", "—"),
    ExitCode(
        EXIT_UNEXPECTED,
        "unexpected failure",
        "unexpected failure (a bug, or Zoho answering errors that outlasted the retries); "
        "traceback on stderr. Also a price list's answer that broke off mid-stream, as one "
        "line (see below)",
        "look at the traceback; the next run resumes safely",
    ),
    ExitCode(
        EXIT_CONFIG,
        "configuration error",
        "configuration error: one line on stderr names the setting and the fix (missing "
        "setting, unknown data center, rejected client or refresh token, 401 from the API "
        "with a fresh token = wrong data center or missing scope, unknown organization)",
        "fix the setting",
    ),
    ExitCode(
        EXIT_QUOTA,
        "daily API quota used up (what was fetched is loaded)",
        "Zoho's daily API quota is used up (429 code 45): what was fetched is loaded, the "
        "run is logged as `quota_exhausted`; until the reset time Zoho stated, runs make no "
        "call and are logged as `waiting`; the job still builds the marts",
        "nothing: the first run after the quota resets continues",
    ),
    ExitCode(
        EXIT_TOKEN_THROTTLED,
        "Zoho is throttling access-token requests",
        'Zoho is throttling access-token requests ("Access Denied": over 10 per 10 minutes)',
        "wait 10 minutes",
    ),
    ExitCode(
        EXIT_ZOHO_UNREACHABLE,
        "Zoho unreachable",
        "Zoho unreachable: after the retries (`retry_deadline`, `request_max_attempts`: "
        "within about 5 s for a refused connection or an unknown host, 60 s for a silent "
        "one) the API or accounts host did not resolve (DNS), refused the connection, "
        "failed the TLS handshake or did not answer in time; one line names the host, the "
        "cause and the setting to check "
        "(`DATA_CENTER`, `API_BASE_URL` / `ACCOUNTS_URL`)",
        "check the network, DNS, proxy or those settings; the next run resumes safely",
    ),
    ExitCode(
        EXIT_WAREHOUSE_UNREACHABLE,
        "the warehouse refuses the connection, login or database",
        "the warehouse refuses the connection (server down, wrong `PGHOST`/`PGPORT`), the "
        "login (`PGUSER`/`PGPASSWORD`) or the database (`PGDATABASE` missing); one line "
        "names which",
        "fix the variable or start the server",
    ),
    ExitCode(
        EXIT_JOB_STEP_FAILED,
        "job only: a dbt step failed or was killed",
        "job only: a dbt step failed (a model error, a data test with severity error, "
        "sources stale beyond `error_after`) or was killed; one line names the node or the "
        "signal, `zoho_staging.job_runs` has the step",
        "read `.local/job/logs/dbt.log`; a killed build is rebuilt by the next job",
    ),
    ExitCode(
        EXIT_ALREADY_RUNNING,
        "another run is still going (nothing was touched)",
        "another run for the same warehouse and organization holds the lock; this run did "
        "nothing (the job logs one `skipped:` line)",
        "nothing (the cron schedule retries)",
    ),
)


def exit_codes_help() -> str:
    """The exit codes as one sentence, for `--help`."""
    return (
        "exit codes: "
        + ", ".join(f"{e.code} {e.label}" for e in EXIT_CODES)
        + (" (docs/configuration.md)")
    )


def exit_code_table() -> str:
    """docs/configuration.md's exit-code table (Markdown)."""
    lines = ["| code | meaning | what to do |", "|---|---|---|"]
    lines += [f"| {e.code} | {e.meaning} | {e.action} |" for e in EXIT_CODES]
    return "\n".join(lines)


class LoaderError(Exception):
    """Base of the errors printed as one line."""

    exit_code = EXIT_UNEXPECTED


class ConfigError(LoaderError):
    """A setting is missing or wrong; the message names it and how to fix it."""

    exit_code = EXIT_CONFIG


class QuotaExhausted(LoaderError):
    """Zoho's daily call quota is used up (429 code 45): waiting does not help today."""

    exit_code = EXIT_QUOTA


class TokenThrottled(LoaderError):
    """Zoho's accounts server refuses new access tokens for a while ("Access Denied")."""

    exit_code = EXIT_TOKEN_THROTTLED


class ZohoUnreachable(LoaderError):
    """No answer from Zoho after the retries: the host does not resolve, refuses the
    connection, fails the TLS handshake or stays silent past the timeout."""

    exit_code = EXIT_ZOHO_UNREACHABLE


class WarehouseUnreachable(LoaderError):
    """PostgreSQL refuses the connection, the login or the database: the message names the
    cause and the PG* variable that fixes it."""

    exit_code = EXIT_WAREHOUSE_UNREACHABLE


class AlreadyRunning(LoaderError):
    """Another run holds the advisory lock of this warehouse and organization."""

    exit_code = EXIT_ALREADY_RUNNING


class ZohoApiError(LoaderError):
    """Zoho answered with an error the loader cannot recover from."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class BrokenAnswer(ZohoApiError):
    """A streamed answer broke off or stopped being JSON after part of it was read: too
    late for the retrying session, and what was read cannot be trusted to be complete."""


class RecordNotFound(ZohoApiError):
    """404 code 1002: the record was deleted between listing and reading it."""


def find_cause(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of `kind` behind `exc`, looking through dlt's wrappers
    (PipelineStepFailed, ResourceExtractionError: `.exception`) and exception chains."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "exception", None)])
    return None


def find_loader_error(exc: BaseException) -> LoaderError | None:
    """The LoaderError behind `exc` (see `find_cause`)."""
    found = find_cause(exc, LoaderError)
    return found if isinstance(found, LoaderError) else None


def one_line(text: str | None, limit: int = REASON_LIMIT) -> str | None:
    """`text` as one line (its lines joined, whitespace collapsed), at most `limit`
    characters; None when empty. A Python traceback becomes its last part, the exception
    itself: the frames above it are paths, and the cause is at the end."""
    if not text or not text.strip():
        return None
    if "Traceback (most recent call last):" in text:
        text = _traceback_tail(text)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _traceback_tail(text: str) -> str:
    """The exception lines after the last frame of a formatted traceback."""
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(("  File ", "    ", "Traceback ")):
            tail = [line for line in lines[i + 1 :] if line.strip()]
            return "\n".join(tail) or lines[-1]
    return text


def reason(exc: BaseException, limit: int = REASON_LIMIT) -> str:
    """What to store and print for `exc`: the loader's own message when a LoaderError is
    behind it, else the innermost cause as `Type: message` (dlt wraps failures in
    "Pipeline execution failed at step=..." envelopes), whole, as one line, bounded."""
    found = find_loader_error(exc)
    if found is not None:
        inner: BaseException = found
        text = str(found)
    else:
        inner = innermost(exc)
        text = f"{type(inner).__name__}: {inner}" if str(inner).strip() else type(inner).__name__
    return one_line(text, limit) or type(exc).__name__


def innermost(exc: BaseException) -> BaseException:
    """The exception at the end of `exc`'s explicit causes (`raise ... from`), looking
    through dlt's wrappers (`.exception`, a load job's `.client_exception`)."""
    seen = {id(exc)}
    while True:
        inner = (
            exc.__cause__
            or getattr(exc, "client_exception", None)
            or getattr(exc, "exception", None)
        )
        if not isinstance(inner, BaseException) or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner
