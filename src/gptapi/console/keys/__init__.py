"""API keys of an organisation: created, limited, revoked from the console."""
