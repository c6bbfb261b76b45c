"""The console API under /api: accounts, organisations, keys, usage, billing, webhooks, status.

One folder per domain with endpoints (thin), service (logic), repository (queries) and schemas.
The gateway never imports from here.
"""
