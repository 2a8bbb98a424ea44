"""The webhook receiver (issue 16): Zoho Books workflow webhooks landed durably, verified
and exactly once in `zoho_staging.webhook_events` (docs/webhooks.md)."""
