"""Zoho that cannot be reached (refused, DNS, TLS, silence) ends in one line naming the
host, the cause and the setting to check, with exit code 5: for API calls and for the
token endpoint alike. Real sockets on loopback; two quick attempts each."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from loader.errors import EXIT_ZOHO_UNREACHABLE, ZohoUnreachable, find_loader_error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def unreachable(call) -> ZohoUnreachable:
    with pytest.raises(ZohoUnreachable) as raised:
        call()
    error = raised.value
    assert error.exit_code == EXIT_ZOHO_UNREACHABLE == 5
    assert find_loader_error(error) is error
    assert "\n" not in str(error) and "csecret" not in str(error) and "rtoken" not in str(error)
    return error


# Which side is unreachable: the API (a cached token, no grant needed) or the accounts
# server (no cached token: the grant is the first call).
SIDES = {"api": ("token-0", "API_BASE_URL"), "accounts": (None, "ACCOUNTS_URL")}


@pytest.mark.parametrize("side", SIDES)
def test_refused_connection_names_host_and_setting(client_for, side):
    token, setting = SIDES[side]
    port = closed_port()
    client = client_for(f"http://127.0.0.1:{port}/books/v3", token=token)
    error = unreachable(lambda: client.get("/organizations", "organizations"))
    assert f"127.0.0.1:{port} refused the connection after 2 attempts" in str(error)
    assert f"SOURCES__ZOHO_BOOKS__{setting}" in str(error)


@pytest.mark.parametrize("side", SIDES)
def test_unresolvable_host_says_dns(client_for, side):
    token, setting = SIDES[side]
    client = client_for("http://zoho.invalid/books/v3", token=token)
    error = unreachable(lambda: list(client.pages("/items", "items")))
    assert "the host zoho.invalid does not resolve (DNS)" in str(error)
    assert f"SOURCES__ZOHO_BOOKS__{setting}" in str(error)
    assert "SOURCES__ZOHO_BOOKS__DATA_CENTER" in str(error)


@pytest.mark.parametrize("side", SIDES)
def test_https_to_a_plain_http_port_is_a_tls_failure(client_for, zoho, side):
    token, setting = SIDES[side]
    client = client_for(zoho.url.replace("http://", "https://") + "/books/v3", token=token)
    error = unreachable(lambda: client.get("/organizations", "organizations"))
    assert "the TLS handshake with 127.0.0.1:" in str(error)
    assert f"SOURCES__ZOHO_BOOKS__{setting}" in str(error)
    assert zoho.tokens_seen == []  # nothing was answered over plain HTTP


def test_silence_past_the_timeout_names_the_timeout(client_for, silent_port):
    client = client_for(
        f"http://127.0.0.1:{silent_port}/books/v3", token="token-0", request_timeout=0.2
    )
    error = unreachable(lambda: list(client.stream("/pricebooks/1", "pricebook.item")))
    assert f"127.0.0.1:{silent_port} did not answer within 0.2 s after 2 attempts" in str(error)


def test_unreachable_accounts_server_behind_a_reachable_api(client_for, zoho):
    client = client_for(zoho.url + "/books/v3", accounts=f"http://127.0.0.1:{closed_port()}")
    error = unreachable(lambda: client.get("/organizations", "organizations"))
    assert "SOURCES__ZOHO_BOOKS__ACCOUNTS_URL" in str(error)
    assert zoho.tokens_seen == []  # no API call went out without a token


def test_reading_ahead_hands_the_same_error_to_the_reader(client_for):
    client = client_for(f"http://127.0.0.1:{closed_port()}/books/v3", token="token-0")
    unreachable(lambda: list(client.pages("/items", "items", prefetch=True)))
