"""Pytest fixtures for tests that talk to the simulator.

Use them with ``pytest_plugins = ["zoho_sim.pytest_plugin"]`` in the root conftest.py
(or import the fixtures into a conftest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .simulator import ZohoSimulator


class BooksClient:
    """A thin client for asserting on the simulator itself, not a loader: a token in the
    header and ``organization_id`` on every call."""

    def __init__(self, sim: ZohoSimulator) -> None:
        self.sim = sim
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {sim.mint_token()}"
        self.refresh_on_401 = True

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET an API path; a 401 (the clock moved past the token) re-mints once."""
        params.setdefault("organization_id", self.sim.organization_id)
        url = f"{self.sim.api_base_url}/{path}"
        response = self.session.get(url, params=params, timeout=30)
        if response.status_code == 401 and self.refresh_on_401:
            self.session.headers["Authorization"] = f"Zoho-oauthtoken {self.sim.mint_token()}"
            response = self.session.get(url, params=params, timeout=30)
        return response

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        """A successful answer's JSON (asserts HTTP 200 and code 0)."""
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["code"] == 0, body
        return body

    def list_all(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a listing, paging until ``has_more_page`` is false."""
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.ok(path, page=page, **params)
            records.extend(body[key])
            if not body["page_context"]["has_more_page"]:
                return records
            page += 1

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def zoho_sim() -> Iterator[ZohoSimulator]:
    """A started unit-scale simulator (seed 1) on a free port, stopped after the test."""
    with ZohoSimulator(scale="unit", seed=1) as sim:
        yield sim


@pytest.fixture
def zoho_books(zoho_sim: ZohoSimulator) -> Iterator[BooksClient]:
    """An authorised client for ``zoho_sim`` (its token is minted without an HTTP call)."""
    client = BooksClient(zoho_sim)
    yield client
    client.close()


@pytest.fixture
def zoho_sim_env(zoho_sim: ZohoSimulator, monkeypatch: pytest.MonkeyPatch) -> ZohoSimulator:
    """``zoho_sim`` with the loader's SOURCES__ZOHO_BOOKS__* variables pointing at it."""
    for name, value in zoho_sim.env().items():
        monkeypatch.setenv(name, value)
    return zoho_sim
