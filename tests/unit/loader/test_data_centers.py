"""Data center -> hosts, and the messages for settings that cannot work."""

from __future__ import annotations

import pytest

from loader.errors import ConfigError
from loader.zoho.constants import DATA_CENTERS, resolve_hosts


def test_default_data_center_is_the_us_one():
    assert resolve_hosts(None) == (
        "https://www.zohoapis.com/books/v3",
        "https://accounts.zoho.com",
    )


def test_canada_uses_the_zohocloud_accounts_server():
    api, accounts = resolve_hosts("ca")
    assert api == "https://www.zohoapis.ca/books/v3"
    assert accounts == "https://accounts.zohocloud.ca"


@pytest.mark.parametrize("dc", ["eu", "in", "com.au", "jp", "com.cn", "sa", "uk"])
def test_every_documented_data_center_maps_to_its_own_domain(dc):
    api, accounts = resolve_hosts(dc)
    assert api == f"https://www.zohoapis.{dc}/books/v3"
    assert accounts == f"https://accounts.zoho.{dc}"


def test_data_center_is_case_and_space_insensitive():
    assert resolve_hosts(" EU ") == DATA_CENTERS["eu"]


def test_explicit_urls_override_the_data_center():
    api, accounts = resolve_hosts("eu", "http://127.0.0.1:8080/books/v3/", "http://127.0.0.1:8080")
    assert (api, accounts) == ("http://127.0.0.1:8080/books/v3", "http://127.0.0.1:8080")


def test_unknown_data_center_names_the_setting_and_the_choices():
    with pytest.raises(ConfigError) as raised:
        resolve_hosts("us")
    message = str(raised.value)
    assert "SOURCES__ZOHO_BOOKS__DATA_CENTER" in message
    assert "com, eu, in" in message
