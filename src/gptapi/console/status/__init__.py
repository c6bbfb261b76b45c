"""The public status page: live service and server health, incidents, uptime history."""
