"""Reading the next page while the current one is processed keeps order and errors."""

from __future__ import annotations

import threading

import pytest

from loader.errors import QuotaExhausted
from loader.zoho.http import read_ahead


def test_pages_arrive_in_order():
    assert list(read_ahead(iter([[1], [2], [3]]))) == [[1], [2], [3]]


def test_an_error_arrives_after_the_pages_before_it():
    def pages():
        yield [1]
        yield [2]
        raise QuotaExhausted("quota")

    received = []
    with pytest.raises(QuotaExhausted):
        for page in read_ahead(pages()):
            received.append(page)
    assert received == [[1], [2]]


def test_stopping_early_stops_fetching_soon_after():
    fetched = []
    finished = threading.Event()

    def pages():
        try:
            for n in range(1000):
                fetched.append(n)
                yield [n]
        finally:
            finished.set()

    reader = read_ahead(pages(), depth=1)
    assert next(reader) == [0]
    reader.close()
    assert len(fetched) <= 3  # the page handed over, one queued, one being fetched
