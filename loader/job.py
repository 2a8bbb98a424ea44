"""`python -m loader.job`, the command cron runs: the job lives in loader/ops/job.py.

Kept at this path because users' crontabs call it (README, "Running from cron")."""

from loader.ops.job import main
from loader.run import memory

if __name__ == "__main__":
    memory.without_sqlalchemy()  # this process is the job alone (loader/run/memory.py)
    raise SystemExit(main())
