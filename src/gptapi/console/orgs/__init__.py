"""Organisations: the tenants, their members, invitations and audit log."""
