"""An organisation's usage: totals, time series, breakdowns, the request log and CSV export."""
