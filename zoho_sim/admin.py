"""The simulator's admin endpoints under ``/_sim/``, for tests that run the loader in
another process (``python -m zoho_sim run -- ...`` sets ``ZOHO_SIM_URL``).

The loader never calls these: they are not Zoho's, need no token, are not counted as API
calls and are never rate-limited or faulted. Bodies and answers are JSON.

- ``GET /_sim/state``: clock, quota, counters, triggers (and webhook deliveries).
- ``POST /_sim/<name>`` with ``{"args": [...], "kwargs": {...}}``: call one edit
  (``update_item``, ``delete_contact``...) or control (``advance``, ``configure``...)
  of :class:`ZohoSimulator` -> ``{"result": ...}``; unknown ID -> 404, bad call -> 400.
- Every admin call acts on one organisation: the one named by ``?organization_id=`` (or
  ``"organization_id"`` in the body), else the first; an unknown one is a 404.
- ``GET /_sim/organizations``: every organisation's settings (``organizations_settings``).
- ``POST /_sim/triggers`` with ``{"endpoint": "GET /items", "after": 2, "edit":
  "delete_item", "args": [...], "kwargs": {...}, "match": {"filter_by": "Status.All"}}``
  -> 201 ``{"trigger": {...}}``; ``GET`` lists them, ``DELETE`` clears them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .api import ApiResponse
from .dataset import NotFound
from .edits import Edits

if TYPE_CHECKING:
    from .simulator import ZohoSimulator

ADMIN_PREFIX = "/_sim"
EDIT_NAMES: frozenset[str] = frozenset(
    name for name in vars(Edits) if not name.startswith("_") and callable(getattr(Edits, name))
)
CONTROL_NAMES: frozenset[str] = frozenset(
    {
        "advance",
        "advance_to_next_day",
        "expire_tokens",
        "reset_daily_quota",
        "reset_rate_window",
        "reset_grant_throttle",
        "inject_fault",
        "clear_faults",
        "configure",
        "reset_counters",
        "configure_webhooks",
        "flush_webhooks",
    }
)
"""Simulator methods callable over HTTP besides the edits."""


def _json(status: int, payload: Any) -> ApiResponse:
    text = json.dumps(payload, default=str, separators=(",", ":"))
    return ApiResponse(status, text.encode(), "application/json")


def _error(status: int, message: str) -> ApiResponse:
    return _json(status, {"error": message})


def handle(
    primary: ZohoSimulator,
    method: str,
    path: str,
    body: bytes,
    organization_id: str | None = None,
) -> ApiResponse:
    """Answer one admin request; ``path`` is relative to ``/_sim``; ``organization_id``
    (from the query string) picks the organisation, as does the body's."""
    name = path.strip("/")
    try:
        request = json.loads(body) if body.strip() else {}
    except ValueError as error:
        return _error(400, f"the body is not JSON: {error}")
    if not isinstance(request, dict):
        return _error(400, "the body must be a JSON object")
    wanted = request.pop("organization_id", None) or organization_id
    sim = primary.organizations.get(str(wanted)) if wanted else primary
    if sim is None:
        return _error(404, f"no organization {wanted!r}; served: {primary.organization_ids}")
    if method == "GET" and name == "organizations":
        return _json(200, {"organizations": primary.organizations_settings()})
    if method == "GET" and name == "state":
        return _json(200, sim.state())
    if name == "triggers":
        if method == "GET":
            return _json(200, {"triggers": sim.triggers.snapshot()})
        if method == "DELETE":
            sim.triggers.clear()
            return _json(200, {"triggers": []})
        if method == "POST":
            return _add_trigger(sim, request)
    if method == "POST" and (name in EDIT_NAMES or name in CONTROL_NAMES):
        return _call(sim, name, request)
    return _error(404, f"no admin endpoint {method} /_sim/{name}")


def _arguments(request: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = request.get("args", []), request.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise TypeError("'args' must be a list and 'kwargs' an object")
    return args, kwargs


def _call(sim: ZohoSimulator, name: str, request: dict[str, Any]) -> ApiResponse:
    try:
        args, kwargs = _arguments(request)
        result = getattr(sim, name)(*args, **kwargs)
    except NotFound as error:
        return _error(404, f"no such record: {error}")
    except (TypeError, ValueError) as error:
        return _error(400, f"{name}: {error}")
    return _json(200, {"result": result})


def _add_trigger(sim: ZohoSimulator, request: dict[str, Any]) -> ApiResponse:
    edit = request.get("edit")
    if edit not in EDIT_NAMES and edit not in CONTROL_NAMES:
        return _error(400, f"'edit' must name an edit, e.g. delete_item; got {edit!r}")
    try:
        args, kwargs = _arguments(request)
        trigger = sim.after_call(
            str(request["endpoint"]),
            int(request["after"]),
            getattr(sim, edit),
            *args,
            match=request.get("match"),
            **kwargs,
        )
    except KeyError as error:
        return _error(400, f"missing {error}")
    except (TypeError, ValueError) as error:
        return _error(400, str(error))
    return _json(201, {"trigger": trigger.as_json()})
