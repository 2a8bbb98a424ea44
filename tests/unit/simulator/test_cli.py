"""``python -m zoho_sim``: help, the env lines a Makefile evals, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]


def test_help_exits_zero():
    result = subprocess.run(
        [sys.executable, "-m", "zoho_sim", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "--print-env" in result.stdout


def test_print_env_serves_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "zoho_sim", "--port", "0", "--scale", "unit", "--print-env"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        env = {}
        for _ in range(6):
            name, _, value = (
                process.stdout.readline().strip().removeprefix("export ").partition("=")
            )
            env[name] = value
        assert set(env) == {
            "SOURCES__ZOHO_BOOKS__API_BASE_URL",
            "SOURCES__ZOHO_BOOKS__ACCOUNTS_URL",
            "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID",
            "SOURCES__ZOHO_BOOKS__CLIENT_ID",
            "SOURCES__ZOHO_BOOKS__CLIENT_SECRET",
            "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN",
        }
        token = requests.post(
            f"{env['SOURCES__ZOHO_BOOKS__ACCOUNTS_URL']}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": env["SOURCES__ZOHO_BOOKS__CLIENT_ID"],
                "client_secret": env["SOURCES__ZOHO_BOOKS__CLIENT_SECRET"],
                "refresh_token": env["SOURCES__ZOHO_BOOKS__REFRESH_TOKEN"],
            },
            timeout=10,
        ).json()["access_token"]
        response = requests.get(
            f"{env['SOURCES__ZOHO_BOOKS__API_BASE_URL']}/items",
            params={"organization_id": env["SOURCES__ZOHO_BOOKS__ORGANIZATION_ID"]},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


SIM_RUN = [sys.executable, "-m", "zoho_sim", "run"]
CHILD = """
import os, sys, requests
env = os.environ
token = requests.post(
    env["SOURCES__ZOHO_BOOKS__ACCOUNTS_URL"] + "/oauth/v2/token",
    data={
        "grant_type": "refresh_token",
        "client_id": env["SOURCES__ZOHO_BOOKS__CLIENT_ID"],
        "client_secret": env["SOURCES__ZOHO_BOOKS__CLIENT_SECRET"],
        "refresh_token": env["SOURCES__ZOHO_BOOKS__REFRESH_TOKEN"],
    },
    timeout=10,
).json()["access_token"]
items = requests.get(
    env["SOURCES__ZOHO_BOOKS__API_BASE_URL"] + "/items",
    params={"organization_id": env["SOURCES__ZOHO_BOOKS__ORGANIZATION_ID"]},
    headers={"Authorization": "Zoho-oauthtoken " + token},
    timeout=10,
).json()["items"]
print(len(items), env["KEPT"], env["ZOHO_SIM_URL"] == env["SOURCES__ZOHO_BOOKS__ACCOUNTS_URL"])
sys.exit(int(sys.argv[1]))
"""


def test_run_serves_while_the_command_runs_and_exits_with_its_code():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoho_sim",
            "run",
            "--scale",
            "unit",
            "--seed",
            "1",
            "--",
            sys.executable,
            "-c",
            CHILD,
            "7",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KEPT": "yes"},
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout.split() == ["35", "yes", "True"]  # the unit scale's active items
    assert "zoho_sim: serving unit data at http://127.0.0.1:" in result.stderr


def test_run_without_a_command_is_a_usage_error_and_a_missing_program_exits_127():
    base = [*SIM_RUN, "--scale", "unit"]
    missing = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2
    assert "missing the command to run" in missing.stderr
    absent = subprocess.run(
        [*base, "--", "/nonexistent/program"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert absent.returncode == 127
    assert "cannot start '/nonexistent/program'" in absent.stderr
