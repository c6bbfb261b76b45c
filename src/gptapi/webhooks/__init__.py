"""Webhook events below the domains: their rows and queries, Standard Webhooks signing, and
the usage events the delivery worker emits. The console's endpoints (`gptapi.console.webhooks`)
and the workers (`gptapi.workers.webhooks`) both build on it."""
