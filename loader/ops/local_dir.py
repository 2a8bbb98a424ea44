"""Owner-only local state: `.local/` (dlt pipelines, token cache, job output, logs) holds
raw business data and credentials, so other local users must not read it.

`secure()` (called first by the job and the loader's entry points) sets the process umask
to 077, so everything created from then on (by us, dlt, dbt, children) is 0700 / 0600, and
closes up what an older version or another tool created: `.local/` itself and the
directories named by settings. When the process runs as root, `.local/` is 0711 instead:
the embedded PostgreSQL then runs as an unprivileged user (pgserver) that must reach its
data directory `.local/pgdata` (itself 0700); 0711 lets it pass without listing anything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from loader.names import ROOT

LOCAL_DIR = ROOT / ".local"
UMASK = 0o077


def local_dir_mode() -> int:
    """What warehouse._close_local_dir applies too, after pgserver opened it."""
    return 0o711 if os.geteuid() == 0 else 0o700


def secure(extra: Iterable[Path | str | None] = ()) -> None:
    """Set umask 077, create `.local/` owner-only, and take group/other access away from
    what exists of: the dlt pipelines dir, the token cache, the log file on stdout/stderr,
    and `extra` directories and files."""
    os.umask(UMASK)
    LOCAL_DIR.mkdir(exist_ok=True)
    _chmod(LOCAL_DIR, local_dir_mode())
    named = [
        os.environ.get("DLT_PIPELINES_DIR") or LOCAL_DIR / "dlt",
        os.environ.get("SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH") or LOCAL_DIR / "zoho_token.json",
    ]
    for path in [*named, *extra]:
        if path is None:
            continue
        target = Path(path)
        if target.is_dir():
            _chmod(target, 0o700)
        elif target.is_file():
            _chmod(target, 0o600)
    _secure_stdout()


def _chmod(path: Path, mode: int) -> None:
    """chmod if we own `path` and its mode differs (someone else's path is left alone)."""
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != mode:
            path.chmod(mode)
    except OSError:
        pass


def _secure_stdout() -> None:
    """A log file the shell created for us (`>> .local/job.log` under cron's umask 022)
    becomes 0600 too."""
    for fd in (1, 2):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and mode & 0o077:
            os.fchmod(fd, mode & 0o700)
