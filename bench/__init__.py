"""Gateway overhead benchmark: `python -m bench` (see bench/README.md)."""
