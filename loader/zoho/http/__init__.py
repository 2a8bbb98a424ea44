"""HTTP to Zoho Books: tokens (auth.py), the requests session with signing, limits and
retries (session.py), Zoho's answer envelope and paging (envelope.py), counters and the
client-side rate limit (limits.py), and the client the resources call (client.py)."""

from loader.zoho.http.client import ZohoClient, ZohoSettings, read_ahead
from loader.zoho.http.envelope import ZohoHTTPError
from loader.zoho.http.limits import ApiStats, RateLimiter

__all__ = ["ApiStats", "RateLimiter", "ZohoClient", "ZohoHTTPError", "ZohoSettings", "read_ahead"]
