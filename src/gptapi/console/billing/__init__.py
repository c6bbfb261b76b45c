"""Billing in the console: balance, Stripe top-ups, auto-refill, history and statements."""
