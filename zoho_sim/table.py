"""A table of records: generated base rows plus an overlay of edits, with cached orderings.

Listings are served from a cached array of record indexes in the requested order, so a
page is a slice of that array and building it never copies the data set. Any edit bumps
``version`` and drops the cached orderings.
"""

from __future__ import annotations

import copy
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from .formats import make_id, parse_id
from .generate import Record, sort_key_from_record

_CACHE_SIZE = 16


class Table:
    """Records of one kind, addressable by index or by Zoho ID."""

    def __init__(
        self,
        kind: int,
        base_count: int,
        build: Callable[[int], Record],
        base_key: Callable[[int, str], Any],
    ) -> None:
        self.kind = kind
        self.base_count = base_count
        self._build = build
        self._base_key = base_key
        self.overrides: dict[int, Record] = {}
        self.deleted: set[int] = set()
        self.custom_ids: dict[int, str] = {}
        """Added records given an ID of the test's choosing (e.g. a 40-digit one)."""
        self._custom_index: dict[str, int] = {}
        self.next_index = base_count
        self.version = 0
        self.lock = threading.RLock()
        self._orderings: OrderedDict[Hashable, array] = OrderedDict()
        self._orderings_version = 0

    # ----- addressing --------------------------------------------------------------------
    def id_of(self, index: int) -> str:
        return self.custom_ids.get(index) or make_id(self.kind, index)

    def assign_id(self, index: int, record_id: str) -> None:
        """Give an added record a chosen ID (hostile-data tests); it must be unused."""
        with self.lock:
            if self.index_of(record_id) is not None or record_id in self._custom_index:
                raise ValueError(f"ID {record_id!r} is already used")
            self.custom_ids[index] = record_id
            self._custom_index[record_id] = index

    def index_of(self, record_id: str) -> int | None:
        """Index of a live record with this ID, or None (unknown, deleted, malformed)."""
        custom = self._custom_index.get(record_id)
        if custom is not None:
            return custom if self.exists(custom) else None
        index = parse_id(self.kind, record_id)
        if index is None or not self.exists(index):
            return None
        return index

    def exists(self, index: int) -> bool:
        if index in self.deleted:
            return False
        return index < self.base_count or index in self.overrides

    def __len__(self) -> int:
        added = sum(1 for i in self.overrides if i >= self.base_count and i not in self.deleted)
        removed = sum(1 for i in self.deleted if i < self.base_count)
        return self.base_count - removed + added

    def indices(self) -> Iterator[int]:
        """Live indexes in ID order."""
        deleted = self.deleted
        if deleted:
            yield from (i for i in range(self.base_count) if i not in deleted)
        else:
            yield from range(self.base_count)
        with self.lock:
            added = sorted(i for i in self.overrides if i >= self.base_count)
        yield from (i for i in added if i not in deleted)

    # ----- reading -----------------------------------------------------------------------
    def get(self, index: int) -> Record:
        """The current record. Overlay records are shared: callers must not mutate them."""
        record = self.overrides.get(index)
        return record if record is not None else self._build(index)

    def get_copy(self, index: int) -> Record:
        """A private copy, safe to edit and then ``put`` back."""
        record = self.overrides.get(index)
        return copy.deepcopy(record) if record is not None else self._build(index)

    def key(self, index: int, column: str) -> Any:
        record = self.overrides.get(index)
        if record is not None:
            return sort_key_from_record(record, column)
        return self._base_key(index, column)

    # ----- writing -----------------------------------------------------------------------
    def put(self, index: int, record: Record) -> None:
        with self.lock:
            self.overrides[index] = record
            self.deleted.discard(index)
            self.version += 1

    def allocate(self) -> int:
        """A fresh index (and so a fresh, larger ID) for a record about to be added."""
        with self.lock:
            index = self.next_index
            self.next_index += 1
            return index

    def delete(self, index: int) -> None:
        with self.lock:
            self.deleted.add(index)
            self.overrides.pop(index, None)
            self.version += 1

    # ----- listings ----------------------------------------------------------------------
    def ordering(
        self,
        cache_key: Hashable,
        sort_column: str,
        descending: bool,
        keep: Callable[[int], bool] | None = None,
    ) -> array:
        """Indexes of the records ``keep`` accepts, sorted on ``sort_column`` then ID.

        Python's sort is stable and ``indices()`` yields ID order, so equal keys stay in
        ascending ID order in both directions: the order is total and pages never overlap.
        """
        full_key = (cache_key, sort_column, descending)
        with self.lock:
            if self._orderings_version != self.version:
                self._orderings.clear()
                self._orderings_version = self.version
            cached = self._orderings.get(full_key)
            if cached is not None:
                self._orderings.move_to_end(full_key)
                return cached
            candidates = self.indices() if keep is None else filter(keep, self.indices())
            key = self.key
            ordered = sorted(candidates, key=lambda i: key(i, sort_column), reverse=descending)
            result = array("q", ordered)
            self._orderings[full_key] = result
            while len(self._orderings) > _CACHE_SIZE:
                self._orderings.popitem(last=False)
            return result
