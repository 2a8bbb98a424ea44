"""Manual sync: `POST /sync` on the service starts the scheduled job now.

    curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" https://hooks.example.com/sync
    -> 202 {"job_id": "...", "status": "queued"}
    curl -H "Authorization: Bearer $SYNC_TOKEN" https://hooks.example.com/sync/<job_id>
    -> 200 {"job_id": "...", "status": "queued" | "running" | "success" | ..., ...}

The job is `python -m loader.job` (the CLI equivalent, what cron runs), started by the
service with its own settings; it queues behind the lock (a running job, the webhook
worker's round) for up to QUEUE_SECONDS instead of exiting 75, and records itself in
`zoho_staging.job_runs` under the id the service answered. One manual sync at a time: a
request while one is queued or running answers 202 with that one's id.
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

from loader.names import RAW_SCHEMA, ROOT
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
        self._current: _Started | None = None

    def start(self) -> tuple[str, bool]:
        """(the job id, False when a manual sync was already queued or running)."""
        with self._guard:
            current = self._current
            if current is not None and current.process.poll() is None:
                return current.job_id, False
            job_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-sync-{uuid.uuid4().hex[:8]}"
            env = {**self.env, JOB_ID_ENV: job_id, JOB_WAIT_ENV: str(QUEUE_SECONDS)}
            process = subprocess.Popen(
                [sys.executable, "-m", "loader.job", "--log", str(self.log_path)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            threading.Thread(target=process.wait, name="manual-sync", daemon=True).start()
            self._current = _Started(job_id, process)
            return job_id, True

    def status(self, cur: Any, job_id: str) -> dict[str, Any] | None:
        """The job's record (job_runs); `queued` before it has one; None if unknown."""
        cur.execute("select to_regclass(%s) as found", (f"{RAW_SCHEMA}.job_runs",))
        if cur.fetchone()["found"] is not None:
            cur.execute(
                f"select job_id, status, exit_code, started_at, finished_at, failed_step, error"
                f" from {RAW_SCHEMA}.job_runs where job_id = %s",
                (job_id,),
            )
            row = cur.fetchone()
            if row is not None:
                return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        current = self._current
        if current is not None and current.job_id == job_id:
            code = current.process.poll()
            if code is None:
                return {"job_id": job_id, "status": "queued"}
            # ended before it recorded itself: the lock stayed taken, or no configuration
            return {"job_id": job_id, "status": "not_started", "exit_code": code}
        return None
