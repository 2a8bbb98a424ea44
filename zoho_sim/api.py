"""The Books v3 resources: routing, parameters, envelopes and paging.

This layer knows nothing about sockets, tokens or limits (see :mod:`zoho_sim.server`); it
turns a method, a path and query parameters into Zoho's status and JSON answer.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .config import SimConfig
from .dataset import Dataset
from .formats import mix64
from .generate import Record, bill_list_record, contact_list_record, invoice_list_record
from .table import Table

Params = dict[str, str]

BILL_STATUSES = ("draft", "open", "overdue", "paid", "void", "partially_paid")

STREAM_THRESHOLD = 5000
"""Price-list details with more rows than this are streamed in chunks, not built whole."""


@dataclass
class ApiResponse:
    """Status, JSON body (bytes, or chunks for very large answers) and extra headers."""

    status: int
    body: bytes | Iterable[bytes]
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A Zoho error answer: HTTP status plus ``{"code": ..., "message": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> ApiResponse:
        return ApiResponse(self.status, dump({"code": self.code, "message": self.message}))


def dump(payload: Any) -> bytes:
    """Compact UTF-8 JSON, Arabic and emoji unescaped, as Zoho sends it.

    A lone surrogate (hostile data) has no UTF-8 form: such an answer is sent with every
    non-ASCII character escaped, so it travels as ``"\\ud800"``, still valid JSON."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


def success(payload: dict[str, Any]) -> ApiResponse:
    return ApiResponse(200, dump({"code": 0, "message": "success", **payload}))


def bad_param(name: str) -> ApiError:
    return ApiError(400, 2, f"Invalid value passed for {name}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    """Counter key, e.g. ``GET /items/{id}``."""
    handler: str
    needs_org: bool = True


ROUTES: tuple[Route, ...] = (
    Route("GET", re.compile(r"/organizations/?"), "GET /organizations", "organizations", False),
    Route("GET", re.compile(r"/items/?"), "GET /items", "list_items"),
    Route("GET", re.compile(r"/items/(\d+)/?"), "GET /items/{id}", "get_item"),
    Route("GET", re.compile(r"/contacts/?"), "GET /contacts", "list_contacts"),
    Route("GET", re.compile(r"/contacts/(\d+)/?"), "GET /contacts/{id}", "get_contact"),
    Route("GET", re.compile(r"/invoices/?"), "GET /invoices", "list_invoices"),
    Route("GET", re.compile(r"/invoices/(\d+)/?"), "GET /invoices/{id}", "get_invoice"),
    Route("GET", re.compile(r"/bills/?"), "GET /bills", "list_bills"),
    Route("GET", re.compile(r"/bills/(\d+)/?"), "GET /bills/{id}", "get_bill"),
    Route("GET", re.compile(r"/pricebooks/?"), "GET /pricebooks", "list_pricebooks"),
    Route("GET", re.compile(r"/pricebooks/items/?"), "GET /pricebooks/items", "pricebook_items"),
    Route("GET", re.compile(r"/pricebooks/(\d+)/?"), "GET /pricebooks/{id}", "get_pricebook"),
)


def match_route(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    """Route and captured IDs for an API path (relative to ``/books/v3``)."""
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found and route.method == method:
            return route, found.groups()
    return None


def path_exists(path: str) -> bool:
    return any(route.pattern.fullmatch(path) for route in ROUTES)


class BooksApi:
    """Answers Books v3 calls from a :class:`Dataset`."""

    def __init__(self, data: Dataset, config: SimConfig, organization: Record) -> None:
        self.data = data
        self.config = config
        self.organization = organization
        self.list_organizations: Callable[[], list[Record]] = lambda: [self.organization]
        """Every organisation the caller's token reaches (the simulator sets it)."""
        self.on_duplicate: Callable[[], None] = lambda: None

    def handle(self, route: Route, ids: tuple[str, ...], params: Params) -> ApiResponse:
        try:
            return getattr(self, route.handler)(params, *ids)
        except ApiError as error:
            return error.response()

    # ----- paging ------------------------------------------------------------------------
    def _paging(self, params: Params) -> tuple[int, int]:
        try:
            page = int(params.get("page", "1") or "1")
        except ValueError:
            raise bad_param("page") from None
        try:
            per_page = int(params.get("per_page", "") or self.config.default_per_page)
        except ValueError:
            raise bad_param("per_page") from None
        if page < 1:
            raise bad_param("page")
        if per_page < 1:
            raise bad_param("per_page")
        return page, min(per_page, self.config.max_per_page)

    @staticmethod
    def _sort(
        params: Params, allowed: tuple[str, ...], default: str, default_order: str
    ) -> tuple[str, bool]:
        column = params.get("sort_column") or default
        if column not in allowed:
            raise bad_param("sort_column")
        order = params.get("sort_order") or (default_order if column == default else "A")
        if order not in ("A", "D"):
            raise bad_param("sort_order")
        return column, order == "D"

    def _page(
        self,
        *,
        plural: str,
        report_name: str,
        params: Params,
        ordering: Any,
        shape: Callable[[int], Record],
        sort_column: str,
        descending: bool,
        extra_context: dict[str, Any] | None = None,
    ) -> ApiResponse:
        """One page of a listing; maybe repeats the previous page's last record on top."""
        page, per_page = self._paging(params)
        start = (page - 1) * per_page
        chosen = ordering[start : start + per_page]
        records = [shape(i) for i in chosen]
        if start > 0 and start <= len(ordering) and records and self._duplicate(plural, page):
            records.insert(0, shape(ordering[start - 1]))
            self.on_duplicate()
        context = {
            "page": page,
            "per_page": per_page,
            "has_more_page": start + per_page < len(ordering),
            "report_name": report_name,
            "sort_column": sort_column,
            "sort_order": "D" if descending else "A",
            **(extra_context or {}),
        }
        return success({plural: records, "page_context": context})

    def _duplicate(self, plural: str, page: int) -> bool:
        rate = self.config.duplicate_rate
        if rate <= 0:
            return False
        roll = mix64(self.config.fault_seed, zlib.crc32(plural.encode()), page) / 2**64
        return roll < rate

    def _status_filter(self, params: Params, default: str) -> tuple[str, str | None]:
        applied = params.get("filter_by") or default
        wanted = {"Status.All": None, "Status.Active": "active", "Status.Inactive": "inactive"}
        if applied not in wanted:
            raise bad_param("filter_by")
        return applied, wanted[applied]

    @staticmethod
    def _detail_index(table: Table, record_id: str, what: str) -> int:
        index = table.index_of(record_id)
        if index is None:
            raise ApiError(404, 1002, f"{what} does not exist.")
        return index

    # ----- organizations -----------------------------------------------------------------
    def organizations(self, params: Params) -> ApiResponse:
        return success({"organizations": self.list_organizations()})

    # ----- items -------------------------------------------------------------------------
    def list_items(self, params: Params) -> ApiResponse:
        table = self.data.items
        applied, status = self._status_filter(params, "Status.Active")
        column, desc = self._sort(
            params, ("name", "rate", "tax_name", "created_time", "last_modified_time"), "name", "A"
        )
        keep = None if status is None else (lambda i: table.key(i, "status") == status)
        ordering = table.ordering(("status", status), column, desc, keep)
        return self._page(
            plural="items",
            report_name="Items",
            params=params,
            ordering=ordering,
            shape=table.get,
            sort_column=column,
            descending=desc,
            extra_context={"applied_filter": applied},
        )

    def get_item(self, params: Params, item_id: str) -> ApiResponse:
        index = self._detail_index(self.data.items, item_id, "Item")
        return success({"item": self.data.item_detail(index, self.config.item_stock_shape)})

    # ----- contacts ----------------------------------------------------------------------
    def list_contacts(self, params: Params) -> ApiResponse:
        table = self.data.contacts
        applied, status = self._status_filter(params, "Status.All")
        contact_type = params.get("contact_type") or None
        if contact_type not in (None, "customer", "vendor"):
            raise bad_param("contact_type")
        columns = (
            "contact_name",
            "first_name",
            "last_name",
            "email",
            "created_time",
            "last_modified_time",
        )
        column, desc = self._sort(params, columns, "contact_name", "A")

        def keep(i: int) -> bool:
            if status is not None and table.key(i, "status") != status:
                return False
            return contact_type is None or table.key(i, "contact_type") == contact_type

        filtered = status is not None or contact_type is not None
        ordering = table.ordering(
            ("c", status, contact_type), column, desc, keep if filtered else None
        )
        return self._page(
            plural="contacts",
            report_name="Contacts",
            params=params,
            ordering=ordering,
            shape=lambda i: contact_list_record(table.get(i)),
            sort_column=column,
            descending=desc,
            extra_context={"applied_filter": applied},
        )

    def get_contact(self, params: Params, contact_id: str) -> ApiResponse:
        table = self.data.contacts
        return success({"contact": table.get(self._detail_index(table, contact_id, "Contact"))})

    # ----- invoices ----------------------------------------------------------------------
    def list_invoices(self, params: Params) -> ApiResponse:
        table = self.data.invoices
        columns = (
            "created_time",
            "date",
            "invoice_number",
            "last_modified_time",
            "customer_name",
            "due_date",
            "total",
            "balance",
        )
        column, desc = self._sort(params, columns, "created_time", "D")
        since_text = params.get("last_modified_time")
        since = _parse_filter_time(since_text) if since_text else None
        status = params.get("status") or None
        statuses = (
            "draft",
            "sent",
            "overdue",
            "paid",
            "void",
            "partially_paid",
            "unpaid",
            "viewed",
        )
        if status is not None and status not in statuses:
            raise bad_param("status")

        def keep(i: int) -> bool:
            if since is not None and table.key(i, "last_modified_time") < since:
                return False
            return status is None or table.key(i, "status") == status

        filtered = since is not None or status is not None
        ordering = table.ordering(("i", since, status), column, desc, keep if filtered else None)
        return self._page(
            plural="invoices",
            report_name="Invoices",
            params=params,
            ordering=ordering,
            shape=lambda i: invoice_list_record(table.get(i)),
            sort_column=column,
            descending=desc,
            extra_context={"applied_filter": "Status.All"},
        )

    def get_invoice(self, params: Params, invoice_id: str) -> ApiResponse:
        table = self.data.invoices
        return success({"invoice": table.get(self._detail_index(table, invoice_id, "Invoice"))})

    # ----- bills -------------------------------------------------------------------------
    def list_bills(self, params: Params) -> ApiResponse:
        table = self.data.bills
        columns = (
            "created_time",
            "date",
            "bill_number",
            "last_modified_time",
            "vendor_name",
            "due_date",
            "total",
            "balance",
        )
        column, desc = self._sort(params, columns, "created_time", "D")
        since_text = params.get("last_modified_time")
        since = _parse_filter_time(since_text) if since_text else None
        status = params.get("status") or None
        if status is not None and status not in BILL_STATUSES:
            raise bad_param("status")
        vendor_id = params.get("vendor_id") or None

        def keep(i: int) -> bool:
            if since is not None and table.key(i, "last_modified_time") < since:
                return False
            if vendor_id is not None and table.key(i, "vendor_id") != vendor_id:
                return False
            return status is None or table.key(i, "status") == status

        filtered = since is not None or status is not None or vendor_id is not None
        ordering = table.ordering(
            ("b", since, status, vendor_id), column, desc, keep if filtered else None
        )
        return self._page(
            plural="bills",
            report_name="Bills",
            params=params,
            ordering=ordering,
            shape=lambda i: bill_list_record(table.get(i)),
            sort_column=column,
            descending=desc,
            extra_context={"applied_filter": "Status.All"},
        )

    def get_bill(self, params: Params, bill_id: str) -> ApiResponse:
        table = self.data.bills
        return success({"bill": table.get(self._detail_index(table, bill_id, "Bill"))})

    # ----- price lists -------------------------------------------------------------------
    def _pricebook_header(self, k: int) -> Record:
        header = dict(self.data.pricebooks.get(k))
        if self.config.expose_pricebook_times:
            header["created_time"], header["last_modified_time"] = self.data.pricebook_times(k)
        return header

    def list_pricebooks(self, params: Params) -> ApiResponse:
        table = self.data.pricebooks
        ordering = table.ordering("all", "name", False)
        return self._page(
            plural="pricebooks",
            report_name="Price Lists",
            params=params,
            ordering=ordering,
            shape=self._pricebook_header,
            sort_column="name",
            descending=False,
        )

    def get_pricebook(self, params: Params, pricebook_id: str) -> ApiResponse:
        k = self._detail_index(self.data.pricebooks, pricebook_id, "Price list")
        header = self._pricebook_header(k)
        members = self.data.pricebook_item_indices(k)
        if len(members) <= STREAM_THRESHOLD:
            header["pricebook_items"] = [self.data.pricebook_row(k, i) for i in members]
            return success({"pricebook": header})
        return ApiResponse(200, self._stream_pricebook(k, header, members))

    def _stream_pricebook(self, k: int, header: Record, members: Any) -> Iterator[bytes]:
        """Write a huge list's detail in chunks so a million rows never sit in memory."""
        head = dump(
            {"code": 0, "message": "success", "pricebook": {**header, "pricebook_items": []}}
        )
        prefix, suffix = head[: -len(b"]}}")], b"]}}"
        yield prefix
        row = self.data.pricebook_row
        for start in range(0, len(members), 2000):
            rows = [dump(row(k, i)) for i in members[start : start + 2000]]
            chunk = b",".join(rows)
            yield chunk if start == 0 else b"," + chunk
        yield suffix

    def pricebook_items(self, params: Params) -> ApiResponse:
        pricebook_id = params.get("pricebook_id")
        if not pricebook_id:
            raise ApiError(400, 2, "Invalid value passed for pricebook_id")
        k = self._detail_index(self.data.pricebooks, pricebook_id, "Price list")
        members = self.data.pricebook_item_indices(k)
        return self._page(
            plural="pricebook_items",
            report_name="Price List Items",
            params=params,
            ordering=members,
            shape=lambda i: self.data.pricebook_row(k, i),
            sort_column="item_name",
            descending=False,
            extra_context={"pricebook_id": pricebook_id},
        )


def _parse_filter_time(text: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS+HHMM`` -> epoch. A ``+`` sent unencoded arrives as a space,
    which Zoho cannot read either: that is a 400, so the client bug shows up in tests."""
    try:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())
    except ValueError:
        raise bad_param("last_modified_time") from None
