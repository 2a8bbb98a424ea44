"""Manual sync: `POST /sync` on the service starts the scheduled job now.

    curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" https://hooks.example.com/sync
    -> 202 {"job_id": "...", "organization_id": "...", "status": "queued"}
    curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" https://hooks.example.com/sync/eu
    (or the body {"organization": "eu"}: an organization's id or configured name)
    curl -H "Authorization: Bearer $SYNC_TOKEN" https://hooks.example.com/sync/<job_id>
    -> 200 {"job_id": "...", "status": "queued" | "running" | "success" | ..., ...}

The job is `python -m loader.job --org <id>` (the CLI equivalent, what cron runs) of the
organization named, the first configured by default, started by the service with its own
settings; it queues behind that organization's lock (a running job, its webhook worker's
round) for up to QUEUE_SECONDS instead of exiting 75, and records itself in
`zoho_staging.job_runs` under the id the service answered. One manual sync per
organization at a time: a request while one is queued or running answers 202 with that
one's id.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loader.names import ROOT
from loader.warehouse.job_runs import job_record
from loader.warehouse.locking import JOB_ID_ENV, JOB_WAIT_ENV

QUEUE_SECONDS = 3600


@dataclass
class _Started:
    job_id: str
    process: subprocess.Popen


class ManualSyncs:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self._guard = threading.Lock()
        self._current: dict[str | None, _Started] = {}

    def start(self, organization_id: str | None = None) -> tuple[str, bool]:
        """(the job id, False when a manual sync of the organization was already queued
        or running). None: the job of the configuration's only organization."""
        with self._guard:
            current = self._current.get(organization_id)
            if current is not None and current.process.poll() is None:
                return current.job_id, False
            job_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-sync-{uuid.uuid4().hex[:8]}"
            env = {**self.env, JOB_ID_ENV: job_id, JOB_WAIT_ENV: str(QUEUE_SECONDS)}
            which = [] if organization_id is None else ["--org", organization_id]
            process = subprocess.Popen(
                [sys.executable, "-m", "loader.job", *which, "--log", str(self.log_path)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            threading.Thread(target=process.wait, name="manual-sync", daemon=True).start()
            self._current[organization_id] = _Started(job_id, process)
            return job_id, True

    def status(self, conn: Any, job_id: str) -> dict[str, Any] | None:
        """The job's record (job_runs); `queued` before it has one; None if unknown."""
        found = job_record(conn, job_id)
        if found is not None:
            return found
        current = next((c for c in self._current.values() if c.job_id == job_id), None)
        if current is not None:
            code = current.process.poll()
            if code is None:
                return {"job_id": job_id, "status": "queued"}
            # ended before it recorded itself: the lock stayed taken, or no configuration
            return {"job_id": job_id, "status": "not_started", "exit_code": code}
        return None
