"""The receiver: a Starlette application.

    POST /webhooks/zoho/{organization}/{module}?event=...     one organization's webhook
    POST /webhooks/zoho/{module}?event=created|edited|deleted   the first (or only) one's
    GET  /health                                              JSON; 200 healthy, 503 not
    GET  /metrics                                             Prometheus text format
    GET  /report                                              the health report (HTML)
    POST /sync[/{organization}], GET /sync/{job_id}           manual sync (bearer token)

Each organization (loader/zoho/organizations.py; `{organization}` is its id or its
configured name) has its own URL and is verified with its own secret or token: an event
signed with another organization's secret is refused (401). Its events are stored under
its organization_id, and its worker applies them to its rows only.

A webhook request is checked in this order, cheapest first, and nothing is parsed before
the signature over the raw body is verified:
content type (415) -> size, declared and while streaming (413), the whole body within
BODY_TIMEOUT_SECONDS (408) -> signature/token (401) -> JSON and a Zoho-shaped record (400,
stored as `malformed` with its body and the reason) -> committed to `webhook_events` -> 200.
The requests that arrive together are committed together (loader/webhooks/group_commit.py),
each answered once its event's commit returned; a pending event wakes its organization's
worker.
A refused request (4xx before the signature passed) is never stored: it is counted in the
metrics and per module, reason and hour in `webhook_rejections`. A redelivery answers 200
without a second row.
Bodies, secrets and tokens are never logged (the query string can carry the token, so
uvicorn's access log is off and the receiver logs paths only).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import psycopg2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from loader.warehouse.webhook_events import Event, Store, idempotency_key, of_organization
from loader.webhooks import signature
from loader.webhooks.config import (
    APPLIED_MODULES,
    BODY_TIMEOUT_SECONDS,
    DB_POOL_SIZE,
    EVENT_TYPES,
    LANDED_MODULES,
    MAX_BODY_BYTES,
    TOKEN_HEADER,
    TOKEN_PARAMETER,
    WebhookSettings,
)
from loader.webhooks.group_commit import GroupCommit
from loader.webhooks.health import read_gauges, read_health
from loader.webhooks.metrics import Metrics, module_label
from loader.webhooks.payload import record_problem
from loader.webhooks.sync import ManualSyncs
from loader.zoho.constants import env_var
from loader.zoho.organizations import Organization
from loader.zoho.records import storable_json, storable_text

log = logging.getLogger("loader.webhooks")

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MODULE_PATTERN = re.compile(r"[a-z][a-z_]{0,39}")


class Refused(Exception):
    """A request answered with an error status; `reason` labels the metric."""

    def __init__(self, status: int, reason: str, message: str, body_bytes: int = 0) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.body_bytes = body_bytes


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": reason, "message": message}, status_code=status)


async def _read_body(request: Request) -> bytes:
    """The raw body, refusing (413) one declared or growing over MAX_BODY_BYTES without
    reading the rest (a chunked body declares no length)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "bad_length", "Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            raise Refused(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    body = bytearray()

    async def read() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")

    try:  # a body trickled in (slow-loris) must not hold a connection open for ever
        await asyncio.wait_for(read(), BODY_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        raise Refused(
            408, "body_timeout", f"body not received within {BODY_TIMEOUT_SECONDS:g} s", len(body)
        ) from None
    return bytes(body)


def _authenticate(
    settings: WebhookSettings,
    request: Request,
    pairs: list[tuple[str, str]],
    raw_json: bytes,
) -> str | None:
    """None when the request passes every configured check, else the failing reason."""
    if settings.secret is not None:
        sent = request.headers.get(signature.SIGNATURE_HEADER)
        if not sent:
            return "missing_signature"
        if not signature.verify(settings.secret, sent, pairs, raw_json):
            return "bad_signature"
    if settings.token is not None:
        sent = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_PARAMETER)
        if not sent:
            return "missing_token"
        if not hmac.compare_digest(sent.encode(), settings.token.encode()):
            return "bad_token"
    return None


def _record(module: str, payload: Any) -> tuple[dict[str, Any] | None, str]:
    """(the record inside Zoho's default payload `{"item": {...}}`, or a bare record sent as
    a custom body; its singular name)."""
    singular = APPLIED_MODULES.get(module) or LANDED_MODULES.get(module) or module.removesuffix("s")
    if not isinstance(payload, dict):
        return None, singular
    inner = payload.get(singular)
    if isinstance(inner, dict):
        return inner, singular
    if f"{singular}_id" in payload:
        return payload, singular
    if len(payload) == 1:  # another module's default payload: {"<name>": {...}}
        ((name, inner),) = payload.items()
        if isinstance(inner, dict):
            return inner, name
    return None, singular


def understand(
    module: str,
    event_type: str | None,
    body: bytes,
    form: list[tuple[str, str]] | None,
    organization_id: str | None = None,
) -> Event:
    """The stored form of an authenticated request to `organization_id`'s URL: `pending`
    (or `ignored` for modules the worker does not apply), or `malformed` with the reason
    and the raw body."""
    digest = hashlib.sha256(body).hexdigest()
    base: dict[str, Any] = {
        "organization_id": organization_id,
        "module": module,
        "body_sha256": digest,
        "body_bytes": len(body),
        "signature_ok": True,
    }

    def malformed(reason: str) -> Event:
        return Event(
            **base,
            event_type=event_type,
            entity_id=None,
            last_modified_time=None,
            payload=None,
            raw_body=storable_text(body.decode("utf-8", "replace")),
            result=reason,
            status="malformed",
            idempotency_key=of_organization(
                organization_id, f"malformed:{module}:{event_type}:{digest}"
            ),
        )

    try:
        if form is None:
            payload = json.loads(body)
        else:
            fields = dict(form)
            payload = json.loads(fields["JSONString"]) if "JSONString" in fields else fields
        # Stored as the scheduled path stores text: NUL and lone surrogates become U+FFFD
        # (loader/zoho/records.py), so nothing a sender posts is refused by PostgreSQL.
        payload = storable_json(payload)
        json.dumps(payload)  # what storing it does: nesting too deep fails here, not there
    except (ValueError, UnicodeDecodeError, RecursionError):
        return malformed("malformed_json")
    if event_type not in EVENT_TYPES:
        return malformed("bad_event")
    record, singular = _record(module, payload)
    entity_id = None if record is None else record.get(f"{singular}_id")
    keyed = module in APPLIED_MODULES or module in LANDED_MODULES
    if keyed and (entity_id is None or str(entity_id) == ""):
        return malformed("no_record_id")
    problem = None if record is None else record_problem(module, singular, record)
    if problem is not None:
        return malformed(problem)
    entity = None if entity_id is None else str(entity_id)
    modified = None if record is None else record.get("last_modified_time")
    modified = None if modified in (None, "") else str(modified)
    return Event(
        **base,
        event_type=event_type,
        entity_id=entity,
        last_modified_time=modified,
        payload=payload,
        raw_body=None,
        result="accepted",
        status="pending" if module in APPLIED_MODULES else "ignored",
        idempotency_key=of_organization(
            organization_id, idempotency_key(module, event_type, entity or "-", modified, payload)
        ),
    )


def _bearer(request: Request, token: str) -> str | None:
    """None when `Authorization: Bearer <token>` is sent (constant-time), else the reason."""
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        return "missing_token"
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        return "bad_token"
    return None


class Served:
    """The organizations the receiver serves, each with its webhook settings, found by
    id or configured name; the first is the one of `/webhooks/zoho/{module}`. Without a
    configured organization the receiver serves one unnamed (`key` None)."""

    def __init__(
        self, settings: WebhookSettings, organizations: Sequence[tuple[Organization, Any]] = ()
    ) -> None:
        self.organizations = [org for org, _ in organizations]
        self.first: tuple[str | None, WebhookSettings] = (
            (organizations[0][0].key, organizations[0][1]) if organizations else (None, settings)
        )
        self._by_name: dict[str, tuple[str | None, WebhookSettings]] = {}
        for org, own in organizations:
            self._by_name[org.key] = (org.key, own)
            if org.name:
                self._by_name.setdefault(org.name, (org.key, own))

    def find(self, name: str | None) -> tuple[str | None, WebhookSettings] | None:
        """(organization id, its settings) of a URL's `{organization}`; None: unknown."""
        return self.first if name is None else self._by_name.get(name)


def create_app(
    settings: WebhookSettings,
    pg: dict[str, str],
    store: Store | None = None,
    worker: Callable[[Store, Metrics], Any] | None = None,
    syncs: ManualSyncs | None = None,
    organizations: Sequence[tuple[Organization, WebhookSettings]] = (),
) -> Starlette:
    """The receiver on the warehouse `pg` (PG* variables) for `organizations`, each with
    its own settings (`settings` alone: one organization, not named); `worker` makes the
    worker that applies events (started and stopped with the application); `syncs`
    starts manual syncs (`POST /sync`, with `settings.sync_token`)."""
    metrics = Metrics()
    served = Served(settings, organizations)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = store or Store(pg, size=DB_POOL_SIZE)
        await run_in_threadpool(own.ensure, served.first[0])
        app.state.store = own
        commits = GroupCommit(pg)
        app.state.commits = commits
        running = None if worker is None else worker(own, metrics)
        app.state.worker = running
        if running is not None:
            running.start()
        log.info(
            "webhook receiver ready (events in zoho_staging.webhook_events, worker %s)",
            "on" if running else "off",
        )
        try:
            yield
        finally:
            await commits.drain()
            commits.close()
            if running is not None:
                await run_in_threadpool(running.stop)
            own.close()
            log.info("webhook receiver stopped")

    async def receive(request: Request) -> Response:
        module = request.path_params["module"]
        if not MODULE_PATTERN.fullmatch(module):
            return _error(404, "unknown_module", "module must be a lower-case Zoho module name")
        found = served.find(request.path_params.get("organization"))
        if found is None:
            return _error(
                404,
                "unknown_organization",
                "no such organization: use its organization_id or configured name",
            )
        organization_id, own = found
        label = module_label(module)
        metrics.received.labels(label).inc()
        event_type = request.query_params.get("event")
        store: Store = request.app.state.store
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in (JSON_TYPE, FORM_TYPE):
                raise Refused(415, "unsupported_media_type", f"send {JSON_TYPE} or {FORM_TYPE}")
            body = await _read_body(request)
            form: list[tuple[str, str]] | None = None
            if content_type == FORM_TYPE:
                # Bytes that are not UTF-8 become U+FFFD: their signature cannot match.
                form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            pairs = list(request.query_params.multi_items()) + (form or [])
            raw_json = body if form is None else b""
            reason = _authenticate(own, request, pairs, raw_json)
            if reason is not None:
                raise Refused(401, reason, "signature or token missing or wrong", len(body))
            event = understand(module, event_type, body, form, organization_id)
            event_id, duplicate = await request.app.state.commits.store(event)
        except Refused as refused:
            metrics.rejected.labels(label, refused.reason).inc()
            try:  # counted per module, reason and hour: never one row per request
                await run_in_threadpool(
                    store.count_rejected, label, refused.reason, refused.body_bytes,
                    organization_id,
                )  # fmt: skip
            except psycopg2.Error as exc:  # the refusal stands; only its count is lost
                log.error("could not count a refused request: %s", type(exc).__name__)
            log.warning(
                "refused %s %s: %s (%d)", request.url.path, event_type, refused.reason,
                refused.status,
            )  # fmt: skip
            return _error(refused.status, refused.reason, refused.message)
        except psycopg2.Error as exc:
            # Not acknowledged, so Zoho delivers it again later.
            log.error("could not store %s: %s", request.url.path, type(exc).__name__)
            return _error(503, "warehouse_unavailable", "could not store the event; retry")
        if event.status == "malformed":
            metrics.rejected.labels(label, event.result).inc()
            log.warning("malformed %s event %d: %s", module, event_id, event.result)
            return _error(400, event.result, f"kept as webhook event {event_id} for inspection")
        metrics.stored.labels(label, "duplicate" if duplicate else "new").inc()
        running = request.app.state.worker
        if running is not None and event.status == "pending" and not duplicate:
            running.wake(organization_id)
        log.info(
            "%s %s %s %s: event %d%s", module, event_type, event.entity_id,
            event.status, event_id, " (redelivery)" if duplicate else "",
        )  # fmt: skip
        return JSONResponse(
            {"status": "duplicate" if duplicate else event.status, "event_id": event_id}
        )

    async def sync_refused(request: Request) -> Response | None:
        if settings.sync_token is None or syncs is None:
            return _error(
                404,
                "sync_disabled",
                f"manual sync is off: set {env_var('sync_token')} (docs/operations.md)",
            )
        reason = _bearer(request, settings.sync_token)
        if reason is None:
            return None
        metrics.rejected.labels("other", reason).inc()
        with contextlib.suppress(psycopg2.Error):
            await run_in_threadpool(request.app.state.store.count_rejected, "sync", reason, 0)
        log.warning("refused %s %s: %s (401)", request.method, request.url.path, reason)
        answer = _error(401, reason, "send Authorization: Bearer <the sync token>")
        answer.headers["WWW-Authenticate"] = "Bearer"
        return answer

    async def sync(request: Request) -> Response:
        refused = await sync_refused(request)
        if refused is not None:
            return refused
        assert syncs is not None
        name = request.path_params.get("organization")
        if name is None and await request.body():
            try:
                asked = json.loads(await request.body())
            except ValueError:
                asked = None
            if not isinstance(asked, dict) or not isinstance(asked.get("organization"), str):
                return _error(400, "bad_body", 'send no body, or {"organization": "<id or name>"}')
            name = asked["organization"]
        found = served.find(name)
        if found is None:
            return _error(
                404, "unknown_organization", f"no such organization {name!r}: its id or name"
            )
        organization_id = found[0]
        job_id, new = await run_in_threadpool(syncs.start, organization_id)
        log.info(
            "manual sync %s of organization %s %s",
            job_id, organization_id or "-", "started" if new else "already queued",
        )  # fmt: skip
        return JSONResponse(
            {
                "job_id": job_id,
                "organization_id": organization_id,
                "status": "queued" if new else "already_queued",
                "status_url": f"/sync/{job_id}",
            },
            status_code=202,
        )

    async def sync_status(request: Request) -> Response:
        refused = await sync_refused(request)
        if refused is not None:
            return refused
        assert syncs is not None

        def read() -> dict[str, Any] | None:
            with request.app.state.store.cursor() as cur:
                return syncs.status(cur.connection, request.path_params["job_id"])

        found = await run_in_threadpool(read)
        if found is None:
            return _error(404, "unknown_job", "no such manual sync or job")
        return JSONResponse(found)

    async def health(request: Request) -> Response:
        try:
            document = await run_in_threadpool(
                read_health, request.app.state.store, served.organizations
            )
            running = request.app.state.worker
            document["worker"] = {
                "running": running is not None,
                # dbt parsed, rounds begun: the first change is then as quick as the next
                "ready": bool(running and running.ready),
                "tables_to_rebuild": sorted(running.stale_tables) if running else [],
            }
        except psycopg2.Error as exc:
            document = {
                "healthy": False,
                "checks": {"warehouse": False},
                "error": f"warehouse unreachable ({type(exc).__name__})",
            }
        return JSONResponse(document, status_code=200 if document["healthy"] else 503)

    async def report(request: Request) -> Response:
        """The health report page (loader/ops/report.py, what `make report` writes)."""
        from loader.ops.report import render_report

        def render() -> str:
            with request.app.state.store.cursor() as cur:
                return render_report(cur.connection)

        try:
            return HTMLResponse(await run_in_threadpool(render))
        except psycopg2.Error as exc:
            return _error(503, "warehouse_unavailable", f"no report ({type(exc).__name__})")

    async def metrics_endpoint(request: Request) -> Response:
        with contextlib.suppress(psycopg2.Error):  # counters still export without the gauges
            metrics.set_gauges(await run_in_threadpool(read_gauges, request.app.state.store))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    app = Starlette(
        routes=[
            Route("/webhooks/zoho/{module}", receive, methods=["POST"]),
            Route("/webhooks/zoho/{organization}/{module}", receive, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/report", report, methods=["GET"]),
            Route("/sync", sync, methods=["POST"]),
            Route("/sync/{organization}", sync, methods=["POST"]),
            Route("/sync/{job_id}", sync_status, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app
