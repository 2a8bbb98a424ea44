"""`python -m loader.job`, the command cron runs: the job lives in loader/ops/job.py.

Kept at this path because users' crontabs call it (README, "Running from cron")."""

from loader.ops.job import main

if __name__ == "__main__":
    raise SystemExit(main())
