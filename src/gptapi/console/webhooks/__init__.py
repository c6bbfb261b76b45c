"""Outgoing webhooks: endpoints, the event catalogue, delivery log, retry and replay."""
