"""How a loader run keeps its native memory flat (issue 25: peak RSS ≤ 256 MB in every run).

Measured on a first full run at 100k items, contacts and invoices (docs/decisions.md,
"Memory of a long run"): the Python heap stays flat at about 70 MB while the process's RSS
grew about 1 KB with every invoice detail read. The growth is native memory the
allocators keep after it was freed:

- pyarrow's default pool (mimalloc) keeps freed pages for reuse; every page of a listing
  and every batch of details is converted to an arrow table and dropped again. pyarrow's
  public `set_memory_pool` switches to the C library's allocator, which hands them back.
- glibc's malloc gives each new thread its own arena (up to 8 per core), and each arena
  keeps its freed memory. `mallopt(M_ARENA_MAX)` (glibc's documented tuning knob, the
  same as the `MALLOC_ARENA_MAX` environment variable, which only works when set before
  the process starts) caps them.
- pyarrow decodes the columns of a parquet row group on its CPU thread pool, one thread
  per core. dlt's normalize reads every extracted file that way; at a million items the
  decoding threads held about 25 MB at once, the first full run's peak (252 → 231 MB
  sampled with one thread, issue 25). `pyarrow.set_cpu_count(1)` is its public switch; the
  rows are converted to CSV one row group at a time either way.

All are process-wide and idempotent; `ARROW_DEFAULT_MEMORY_POOL` (mimalloc, jemalloc,
system) and `OMP_NUM_THREADS` (pyarrow's thread count) set in the environment keep the
operator's choice.
`settle()` is called at the start of every `run_sync` (`python -m loader run`, the job, a
Dagster partition's run). The webhook worker's event loads do not go through it: its
process keeps pyarrow's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import sys

import pyarrow as pa

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's <malloc.h>
ARENAS = 2
_settled = False


def settle() -> None:
    """Arrow on the system allocator and one thread, glibc's arenas capped (once per
    process)."""
    global _settled
    if _settled:
        return
    _settled = True
    # an operator's own choice of arrow's allocator (pyarrow's ARROW_DEFAULT_MEMORY_POOL) wins
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
    # pyarrow's own variable for its thread count wins the same way
    if not os.environ.get("OMP_NUM_THREADS"):
        pa.set_cpu_count(1)
    _cap_arenas()


def _cap_arenas() -> None:
    if platform.libc_ver()[0] != "glibc":
        return  # musl and others have no arenas to cap
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if libc.mallopt(M_ARENA_MAX, ARENAS) != 1:
            log.debug("mallopt(M_ARENA_MAX) was refused; arenas stay uncapped")
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library; arenas stay uncapped")


def without_sqlalchemy() -> None:
    """Keep SQLAlchemy out of a loader process: 10 MB of every run's RSS (measured: 143 MB
    after the loader's imports and dlt's credentials with it, 133 MB without).

    dlt imports it, when it is installed (Dagster's dependencies bring it), for one thing
    here: parsing the warehouse's connection string (`ConnectionStringCredentials`). When
    it is not importable dlt parses with its own shim (`dlt.common.libs.sql_alchemy_compat`,
    dlt's documented fallback for installs without it). `sys.modules[name] = None` is
    Python's documented way to make an import fail. Only for the processes that are the
    loader alone (`python -m loader run`, `python -m loader.job`), before anything imports
    it; a Dagster process, which needs it, never calls this. Pinned by
    tests/unit/test_memory_imports.py: it fails if dlt stops falling back."""
    if "sqlalchemy" not in sys.modules:
        sys.modules["sqlalchemy"] = None  # type: ignore[assignment]
