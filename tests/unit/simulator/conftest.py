"""Fixtures for the simulator's own tests.

``zoho_sim`` itself comes from ``zoho_sim.pytest_plugin``, loaded by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient


@pytest.fixture
def books(zoho_books: BooksClient) -> BooksClient:
    """Short name for the plugin's authorised client on a fresh unit-scale simulator."""
    return zoho_books


@pytest.fixture(scope="module")
def demo_sim() -> Iterator[ZohoSimulator]:
    """One demo-scale simulator per module (for read-only tests)."""
    with ZohoSimulator(scale="demo", seed=1) as sim:
        yield sim


@pytest.fixture(scope="module")
def demo_books(demo_sim: ZohoSimulator) -> Iterator[BooksClient]:
    client = BooksClient(demo_sim)
    yield client
    client.close()
