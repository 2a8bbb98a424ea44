"""Zoho's answer format: the `{"code": 0, ...}` envelope, its page context, streamed
bodies, and the loader error each failure becomes.

Every answer is parsed once, by the `check_envelope` response hook: a success comes back
as a `ParsedResponse` whose `json()` is that parse (requests replaces a response by what a
hook returns), so dlt's RESTClient, the paginator and `ZohoClient.get` read the same dict
instead of parsing 200 records again each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import ijson
import orjson
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import HTTPError, Request, RequestException, Response

from loader.errors import BrokenAnswer, ConfigError, QuotaExhausted, RecordNotFound, ZohoApiError
from loader.zoho.constants import (
    CODE_BAD_ORGANIZATION,
    CODE_DAILY_QUOTA,
    CODE_NOT_AUTHORIZED,
    CODE_NOT_FOUND,
    env_var,
)
from loader.zoho.http.limits import QUOTA_MESSAGE

STREAMED_BODY_BYTES = 1 << 20
"""A success answer to a streamed call above this size (or without Content-Length) is
parsed as it arrives; a smaller one is read whole by the hook, as every other answer."""
STREAM_CHUNK_BYTES = 1 << 16


class ZohoHTTPError(HTTPError):
    """A response that is not a success envelope; `response` stays attached so dlt's
    retry machinery (and `should_retry`) can look at it."""

    def __init__(self, response: Response, code: int | None, message: str, truncated: bool):
        super().__init__(
            f"Zoho answered HTTP {response.status_code} code {code}: {message}", response=response
        )
        self.code = code
        self.zoho_message = message
        self.truncated = truncated


class ParsedResponse(Response):
    """A success answer whose body was parsed once, by `check_envelope`."""

    def __init__(self, response: Response, body: dict[str, Any]) -> None:
        super().__init__()
        # requests' own pickling state: every attribute a read body's response has.
        self.__setstate__(response.__getstate__())
        self.connection = getattr(response, "connection", None)  # type: ignore[assignment]
        self.body = body

    def json(self, **kwargs: Any) -> Any:
        return self.body


def _streams(response: Response, stream: bool) -> bool:
    """Is this a success answer to a streamed call big enough to parse as it arrives?"""
    if not stream or response.status_code != 200:
        return False
    length = response.headers.get("Content-Length", "")
    return not length.isdigit() or int(length) > STREAMED_BODY_BYTES


def _lenient_json(content: bytes) -> Any:
    """Valid JSON orjson refuses: a lone surrogate escape (`"\\ud800"`, which Zoho can send
    inside a name) is legal JSON; the standard parser keeps it and loader/zoho/records.py makes
    it storable. None when the body is not JSON at all (cut short)."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def check_envelope(response: Response, *args: Any, **kwargs: Any) -> Response:
    """requests response hook: parse once, raise for anything but `{"code": 0}` with
    HTTP 200, and hand back the parsed answer as a ParsedResponse.

    A big success answer to a `stream=True` call is left unread: `stream_records` checks
    its envelope while parsing it. Error answers (4xx/5xx) are small and read here, so
    they are retried and translated exactly like any other call's."""
    if _streams(response, bool(kwargs.get("stream"))):
        return response
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = _lenient_json(response.content)
    if response.status_code == 200 and isinstance(body, dict) and body.get("code", 0) == 0:
        return ParsedResponse(response, body)
    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message", "")) if isinstance(body, dict) else "unparseable body"
    # A 200 whose body does not parse was cut short after the headers promised it whole
    # (requests cannot notice when the framing itself is consistent): worth a retry.
    truncated = response.status_code == 200 and body is None
    raise ZohoHTTPError(response, code if isinstance(code, int) else None, message, truncated)


def _params(request: Request) -> dict[str, Any]:
    """The request's query parameters as a dict (dlt builds them as one)."""
    return dict(cast(dict[str, Any], request.params or {}))


class ZohoPaginator(BasePaginator):
    """Zoho pages: `page` from 1, while `page_context.has_more_page` is true. An answer
    without page_context, or an empty page, is the last page."""

    def __init__(self) -> None:
        super().__init__()
        self.page = 1

    def init_request(self, request: Request) -> None:
        self.page = 1
        request.params = {**_params(request), "page": self.page}

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        context = body.get("page_context") if isinstance(body, dict) else None
        has_more = isinstance(context, dict) and context.get("has_more_page") in (True, "true")
        self._has_next_page = bool(has_more and data)
        if self._has_next_page:
            self.page += 1

    def update_request(self, request: Request) -> None:
        request.params = {**_params(request), "page": self.page}


class _Envelope:
    """Follows a streamed answer's top level until its `code` (and, for an error, its
    `message`) is known. Zoho puts `code` first, so this parser normally reads only the
    first chunk; it keeps reading only while the code is still unknown."""

    def __init__(self) -> None:
        self._events = ijson.sendable_list()
        self._parser = ijson.parse_coro(self._events)
        self.code: int | None = None
        self.message: str | None = None

    @property
    def known(self) -> bool:
        return self.code == 0 or (self.code is not None and self.message is not None)

    def feed(self, chunk: bytes) -> None:
        if self.known:
            return
        self._parser.send(chunk)
        for prefix, event, value in self._events:
            if prefix == "code" and event == "number":
                self.code = int(value)
            elif prefix == "message" and event == "string":
                self.message = value
        del self._events[:]


def stream_records(response: Response, prefix: str, label: str) -> Iterator[dict[str, Any]]:
    """Records at `prefix` of a JSON answer, parsed as its body arrives (ijson picks its C
    backend, yajl2_c, when installed: the wheels ship it). Numbers come out as orjson's do
    (int, or float for fractions), so rows and their content hashes are the same as from
    `response.json()`.

    A 200 whose `code` is not 0 raises the same error `get` would. A body that breaks off
    (dropped connection, or JSON that ends or goes wrong part-way) raises BrokenAnswer."""
    records = ijson.sendable_list()
    parser = ijson.items_coro(records, prefix, use_float=True)
    envelope = _Envelope()
    count = 0
    try:
        # A small answer was read whole by the hook: iter_content then slices that.
        for chunk in response.iter_content(STREAM_CHUNK_BYTES):
            envelope.feed(chunk)
            if envelope.known and envelope.code != 0:
                break
            parser.send(chunk)
            # Zoho puts `code` first: records precede a known code only in an answer
            # ordered otherwise, and they are real rows of a success answer then.
            yield from records
            count += len(records)
            del records[:]
        else:
            parser.close()  # raises if the document is not complete
            yield from records
    except (ijson.JSONError, RequestException) as exc:
        raise BrokenAnswer(_broken_message(label, count, exc)) from exc
    if envelope.code not in (None, 0):  # no `code` at all passes, as in check_envelope
        error = ZohoHTTPError(response, envelope.code, envelope.message or "", truncated=False)
        raise translate_error(error)


def _broken_message(label: str, count: int, exc: BaseException) -> str:
    text = str(exc).strip()
    reason = text.splitlines()[0][:200] if text else "no detail"
    return (
        f"Zoho's answer to {label} broke off after {count:,} records "
        f"({type(exc).__name__}: {reason}); nothing is marked deleted from an incomplete "
        "answer: run the loader again (a dropped connection or a proxy timeout passes)"
    )


def translate_error(exc: ZohoHTTPError) -> Exception:
    """The final failure of a call, as the loader's own error with an actionable message."""
    status = exc.response.status_code if exc.response is not None else None
    if status == 429 and exc.code == CODE_DAILY_QUOTA:
        return QuotaExhausted(QUOTA_MESSAGE)
    if status == 401 or exc.code == CODE_NOT_AUTHORIZED:
        return ConfigError(
            "Zoho answered 401 (not authorized) even with a fresh access token: check that "
            f"{env_var('data_center')} (or {env_var('api_base_url')}) is the account's data "
            "center and that the refresh token has the scopes ZohoBooks.settings.READ, "
            "ZohoBooks.contacts.READ and ZohoBooks.invoices.READ"
        )
    if status == 404 and exc.code == CODE_NOT_FOUND:
        return RecordNotFound(exc.zoho_message, status, exc.code)
    if exc.code == CODE_BAD_ORGANIZATION or (
        status == 400 and "organization" in exc.zoho_message.lower()
    ):
        return ConfigError(
            f"Zoho rejected the organization ({exc.zoho_message}): check "
            f"{env_var('organization_id')} (GET /organizations lists the account's ids)"
        )
    return ZohoApiError(str(exc), status, exc.code)
