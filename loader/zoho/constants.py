"""Constants of the Zoho Books loader: hosts per data center, limits, defaults, Zoho's
error codes. The modules read (names, endpoints, page size, planner costs) are declared in
loader/zoho/modules.py, the raw tables' columns in loader/zoho/contract/; the settings an
operator sets are read in loader/zoho/config.py."""

from __future__ import annotations

from loader.errors import ConfigError
from loader.names import LOCAL_DIR

SOURCE_SECTION = "zoho_books"
ENV_PREFIX = "SOURCES__ZOHO_BOOKS__"

DEFAULT_TOKEN_CACHE_PATH = LOCAL_DIR / "zoho_token.json"
DEFAULT_PIPELINES_DIR = LOCAL_DIR / "dlt"
PIPELINES_DIR_ENV = "DLT_PIPELINES_DIR"

# Keep a margin under Zoho's 100/minute: the budget is per organization and shared with
# every other integration of the org.
DEFAULT_MAX_CALLS_PER_MINUTE = 90
# The free plan allows 5 concurrent calls, paid plans 10: 5 is safe everywhere.
DEFAULT_MAX_CONCURRENCY = 5
# A silent host is known within RETRY_DEADLINE_SECONDS (loader/zoho/http/deadline.py):
# connecting may take this long, then each read of the answer REQUEST_TIMEOUT_SECONDS.
CONNECT_TIMEOUT_SECONDS = 10
REQUEST_TIMEOUT_SECONDS = 20
# A cached access token is reused until this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300
# Organizations change rarely; re-reading them once a day keeps a quiet run's calls to the
# lists that can change.
ORGANIZATION_REFRESH_SECONDS = 24 * 3600
# A `running` row older than this is a run that died without saying so.
STALE_RUN_SECONDS = 3600

# Zoho error codes the loader acts on.
CODE_RATE_PER_MINUTE = 44
CODE_DAILY_QUOTA = 45
CODE_NOT_AUTHORIZED = 57
CODE_CONCURRENCY = 1070
CODE_NOT_FOUND = 1002
CODE_BAD_ORGANIZATION = 6041
RETRYABLE_429_CODES = frozenset({CODE_RATE_PER_MINUTE, CODE_CONCURRENCY})

DATA_CENTERS: dict[str, tuple[str, str]] = {
    "com": ("https://www.zohoapis.com/books/v3", "https://accounts.zoho.com"),
    "eu": ("https://www.zohoapis.eu/books/v3", "https://accounts.zoho.eu"),
    "in": ("https://www.zohoapis.in/books/v3", "https://accounts.zoho.in"),
    "com.au": ("https://www.zohoapis.com.au/books/v3", "https://accounts.zoho.com.au"),
    "jp": ("https://www.zohoapis.jp/books/v3", "https://accounts.zoho.jp"),
    # Canada's accounts server is zohocloud.ca, not zoho.ca.
    "ca": ("https://www.zohoapis.ca/books/v3", "https://accounts.zohocloud.ca"),
    "com.cn": ("https://www.zohoapis.com.cn/books/v3", "https://accounts.zoho.com.cn"),
    "sa": ("https://www.zohoapis.sa/books/v3", "https://accounts.zoho.sa"),
    "uk": ("https://www.zohoapis.uk/books/v3", "https://accounts.zoho.uk"),
}
DEFAULT_DATA_CENTER = "com"


def env_var(setting: str) -> str:
    """The environment variable of a `sources.zoho_books` setting, for messages."""
    return ENV_PREFIX + setting.upper()


def resolve_hosts(
    data_center: str | None, api_base_url: str | None = None, accounts_url: str | None = None
) -> tuple[str, str]:
    """(API base URL, accounts URL): explicit URLs win over the data center's hosts.

    The overrides exist for the simulator and for proxies; the data center is what a real
    account sets."""
    dc = (data_center or DEFAULT_DATA_CENTER).strip().lower()
    if dc not in DATA_CENTERS:
        raise ConfigError(
            f"unknown data center {data_center!r} in {env_var('data_center')}: "
            f"use one of {', '.join(DATA_CENTERS)}"
        )
    api, accounts = DATA_CENTERS[dc]
    return (api_base_url or api).rstrip("/"), (accounts_url or accounts).rstrip("/")
