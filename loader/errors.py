"""Errors a user can act on, each with the exit code `python -m loader` ends with.

They are raised deep inside resources (and wrapped by dlt on the way out), caught once at
the CLI edge, and printed as one line: the message names the cause and the fix. Anything
else is a bug or an outage and keeps its traceback (exit code 1).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2
EXIT_QUOTA = 3
EXIT_TOKEN_THROTTLED = 4
EXIT_ZOHO_UNREACHABLE = 5
EXIT_WAREHOUSE_UNREACHABLE = 6
EXIT_JOB_STEP_FAILED = 10  # the job only (python -m loader.job): a dbt step failed or was killed
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: "try again later", what cron wrappers expect


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
