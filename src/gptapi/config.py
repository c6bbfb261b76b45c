"""Settings, read from the environment and `.env`; `.env.example` documents every one."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _comma_separated(value: object) -> object:
    return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value


# "5,300,1800" in the environment; a list or tuple in code.
SecondsList = Annotated[
    tuple[Annotated[float, Field(ge=0)], ...], NoDecode, BeforeValidator(_comma_separated)
]


def _json_list(value: object) -> object:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else []
    return value


class PlanSetting(BaseModel):
    """A monthly plan: its Stripe Price, the credit included each period, and the key limits
    it raises organisation defaults to (None: unchanged)."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,50}$")
    name: str = Field(min_length=1, max_length=100)
    stripe_price_id: str = Field(min_length=1, max_length=255)
    price_usd: Decimal = Field(ge=0, decimal_places=2)
    included_credit_usd: Decimal = Field(ge=0, decimal_places=2)
    rpm_limit: int | None = Field(default=None, ge=1)
    tpm_limit: int | None = Field(default=None, ge=1)


# A JSON list in the environment; a list in code.
PlanList = Annotated[tuple[PlanSetting, ...], NoDecode, BeforeValidator(_json_list)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = ""  # what docs and curl hints print; defaults to http://host:port
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite under data_dir
    log_level: str = "info"
    # "json": every log line a JSON object, plus one line per settled /v1 request (request
    # id, organisation, key prefix, model, status, latency, tokens, cost) for a collector.
    log_format: Literal["text", "json"] = "text"
    # "otel": OpenTelemetry traces over OTLP/HTTP, configured by the standard OTEL_*
    # variables (needs the `otel` extra). Off: nothing of OpenTelemetry is loaded.
    tracing: Literal["off", "otel"] = "off"
    # Shutdown (SIGTERM): /readyz answers 503 and the server keeps serving for
    # SHUTDOWN_UNREADY_SECONDS, so load balancers stop sending before the listener closes
    # (0: close at once, as on a laptop); then in-flight requests get SHUTDOWN_GRACE_SECONDS
    # to finish before they are cut.
    shutdown_unready_seconds: float = Field(default=0.0, ge=0, le=300)
    shutdown_grace_seconds: int = Field(default=30, ge=0, le=3600)

    # Upstream fleet: a TOML file mapping each public model to its llama-server pool.
    fleet_config: Path | None = None
    # "auto" starts local llama.cpp servers when no fleet config is given.
    local_inference: Literal["auto", "on", "off"] = "auto"
    local_parallel: int = Field(default=4, ge=1, le=64)
    local_ctx_per_slot: int = Field(default=2048, ge=256)
    local_threads: int = Field(default=0, ge=0)  # 0: llama.cpp decides
    # A local llama.cpp server that exits is restarted after this delay, doubled for each
    # exit in a row up to the maximum (a child that cannot start must not spin).
    local_restart_delay_seconds: float = Field(default=1.0, gt=0)
    local_restart_max_delay_seconds: float = Field(default=30.0, gt=0)

    # Starter credit for the first-run key printed by `gptapi serve` (nano-dollars).
    starter_credit_nanos: int = Field(default=5_000_000_000, ge=0)
    # Credit every new account's personal organisation receives once its email address is
    # verified, so a newcomer can make a first call before buying any. Unset: $5 outside
    # production (the embedded platform has no card payments), nothing in production.
    signup_credit_usd: Decimal | None = Field(default=None, ge=0, le=1000)

    # Request limits
    max_request_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_tokens_cap: int = Field(default=32768, ge=1)

    # API keys: how long a verified key (or a rejected one) is trusted from memory.
    key_cache_ttl_seconds: float = Field(default=5.0, gt=0)
    key_negative_cache_ttl_seconds: float = Field(default=2.0, gt=0)
    last_used_flush_seconds: float = Field(default=30.0, gt=0)

    # Organisation defaults for keys with no limits of their own (0 = unlimited).
    default_rpm_limit: int = Field(default=600, ge=0)
    default_tpm_limit: int = Field(default=1_000_000, ge=0)
    # Test-mode keys (gpt_test_…) are free, so they get tight limits of their own: these are
    # both their default and their ceiling.
    test_key_rpm_limit: int = Field(default=20, ge=1)
    test_key_tpm_limit: int = Field(default=20_000, ge=1)

    # Credit: how long a cached balance is trusted before re-reading the database.
    balance_refresh_seconds: float = Field(default=2.0, gt=0)

    # Shared state for several gateway processes or replicas (redis://host:6379/0). Empty:
    # rate limits, credit holds and spend caps live in this process's memory, which is right
    # for one gateway process per database. Set: limits, holds and caps are Redis scripts
    # shared by every gateway, and key revocations and catalog changes reach every process
    # at once.
    redis_url: str = ""
    # Prefix of every Redis key, so several platforms (or test runs) can share one Redis.
    redis_prefix: str = "gptapi:"
    # A credit hold in Redis expires after this long, so a gateway that dies mid-request
    # does not lock its organisation's credit forever (keep it above the longest request).
    credit_hold_ttl_seconds: float = Field(default=900.0, gt=0)

    # Routing
    health_interval_seconds: float = Field(default=2.0, gt=0)
    server_sync_seconds: float = Field(default=2.0, gt=0)
    queue_timeout_seconds: float = Field(default=10.0, ge=0)
    max_queue_per_model: int = Field(default=256, ge=0)
    # Of those, how many one organisation may have waiting: a flood from one cannot fill
    # the queue and turn everyone else away.
    max_queue_per_organization: int = Field(default=64, ge=0)
    upstream_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    upstream_read_timeout_seconds: float = Field(default=120.0, gt=0)
    upstream_total_timeout_seconds: float = Field(default=600.0, gt=0)
    upstream_attempts: int = Field(default=3, ge=1)
    eject_after_failures: int = Field(default=3, ge=1)

    # Metering: group commit of usage and ledger rows.
    usage_batch_max: int = Field(default=500, ge=1)

    # Optional bearer token protecting /metrics (empty: open, as on a private network).
    metrics_token: str = ""

    # Background workers (webhook delivery, status checks, auto-refill, rollups) run inside
    # `gptapi serve`; production runs them in `gptapi worker` and turns them off on gateways.
    run_workers: bool = True

    # Console accounts. SECRET_KEY signs CSRF tokens and encrypts 2FA secrets; empty outside
    # production means one is generated under DATA_DIR.
    secret_key: str = ""
    auth_provider: Literal["local", "supabase"] = "local"
    session_days: int = Field(default=30, ge=1, le=365)

    # OAuth sign-in (local mode): a provider is offered once its client id and secret are set.
    # Endpoint URLs default to the providers' own.
    google_client_id: str = ""
    google_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    github_client_id: str = ""
    github_client_secret: str = ""
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"
    facebook_client_id: str = ""
    facebook_client_secret: str = ""
    facebook_authorize_url: str = "https://www.facebook.com/v23.0/dialog/oauth"
    facebook_token_url: str = "https://graph.facebook.com/v23.0/oauth/access_token"
    facebook_graph_url: str = "https://graph.facebook.com/v23.0"
    indeed_client_id: str = ""
    indeed_client_secret: str = ""
    indeed_authorize_url: str = "https://secure.indeed.com/oauth/v2/authorize"
    indeed_token_url: str = "https://apis.indeed.com/oauth/v2/tokens"
    indeed_userinfo_url: str = "https://secure.indeed.com/v2/api/userinfo"

    # Supabase mode (AUTH_PROVIDER=supabase): the project URL and anon key go to the web
    # console; access tokens are verified with the JWT secret (HS256) or the project's JWKS.
    supabase_url: str = ""
    supabase_anon_key: str = ""
    supabase_jwt_secret: str = ""

    # Outgoing mail: SMTP, Resend or SendGrid. "auto" takes the first configured of SMTP_HOST,
    # RESEND_API_KEY, SENDGRID_API_KEY; with none, mail goes to the log and the dev mailbox.
    mail_provider: Literal["auto", "smtp", "resend", "sendgrid", "dev"] = "auto"
    resend_api_key: str = ""
    resend_api_base: str = "https://api.resend.com"
    sendgrid_api_key: str = ""
    sendgrid_api_base: str = "https://api.sendgrid.com"
    # HTTP providers: attempts per mail on 429, 5xx and network errors, with exponential
    # backoff from this many seconds (a Retry-After from the provider wins).
    mail_max_attempts: int = Field(default=5, ge=1, le=20)
    mail_retry_base_seconds: float = Field(default=1.0, gt=0)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "GPT API <no-reply@gpt.ai>"
    # Where Contact Us messages go; empty: every platform admin's address.
    contact_email: str = ""

    # Outgoing webhooks. Private, loopback and link-local destinations are refused unless
    # allowed; unset, they are allowed everywhere but in production (so laptops can receive).
    webhook_allow_private_urls: bool | None = None
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # Seconds to wait after each failed attempt (Standard Webhooks schedule, ±10% jitter);
    # its length + 1 is the number of attempts.
    webhook_retry_schedule: SecondsList = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    # An endpoint failing every attempt for this long is disabled and its owners emailed.
    webhook_disable_after_days: float = Field(default=5.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    # Events, deliveries and attempts older than this leave the delivery log (and can no
    # longer be replayed), hourly; an event with a delivery still pending always stays.
    webhook_retention_days: float = Field(default=30.0, gt=0)

    # Raw usage rows (the request log) of whole UTC months older than this are removed,
    # hourly, once their hours are in the hourly rollup; reports, spend caps, invoices and
    # reconcile keep their totals. 0 keeps every row forever.
    usage_raw_retention_days: int = Field(default=90, ge=0)
    # Deliveries of one endpoint on the wire at once (across workers): a subscriber with a
    # backlog, or a slow one, holds this many slots and never delays anyone else's events.
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=100)

    # Status page: how often the monitor samples every service, and the rules that turn samples
    # into statuses and automatic incidents.
    status_sample_seconds: float = Field(default=30.0, gt=0)
    status_incident_open_samples: int = Field(default=2, ge=1)
    status_incident_resolve_samples: int = Field(default=3, ge=1)
    status_error_rate_degraded: float = Field(default=0.05, gt=0, le=1)
    status_error_rate_outage: float = Field(default=0.25, gt=0, le=1)
    status_error_min_requests: int = Field(default=10, ge=1)
    status_slow_ms: int = Field(default=2000, ge=1)
    status_history_days: int = Field(default=90, ge=1, le=366)
    status_latency_bucket_seconds: int = Field(default=300, ge=10)
    status_latency_retention_hours: int = Field(default=24, ge=1)

    # Billing with Stripe. Without STRIPE_SECRET_KEY payments are off: the console says so
    # and operators grant credit with `gptapi admin credit grant`.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_publishable_key: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)
    topup_min_usd: int = Field(default=5, ge=1)
    topup_max_usd: int = Field(default=5000, ge=1)
    # Owners are warned when the balance falls below this (per organisation, overridable).
    low_balance_threshold_usd: Decimal = Field(default=Decimal("5"), ge=0)
    billing_poll_seconds: float = Field(default=2.0, gt=0)
    # GPU cloud: how often the compute worker advances deployments and meters running time,
    # how long a deployment may take to answer /health before it is failed, and the slots
    # of each local llama.cpp deployment.
    compute_poll_seconds: float = Field(default=2.0, gt=0)
    compute_start_timeout_seconds: float = Field(default=300.0, gt=0)
    compute_local_parallel: int = Field(default=2, ge=1, le=64)
    # Serverless: how long a /v1 request for a deployment at zero is held while it starts
    # (the client sees an ordinary slow first byte); past it, a 503 with Retry-After.
    # 0 answers the 503 at once.
    compute_cold_start_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    # How often the gateway writes what it saw of each deployment's traffic (the last
    # request, saturated slots) for the worker's scaling; and how long every slot of a
    # serverless deployment must stay taken before it gets one more replica.
    compute_traffic_flush_seconds: float = Field(default=1.0, gt=0)
    compute_scale_out_after_seconds: float = Field(default=10.0, ge=0)
    # RunPod pods (REST API v2) for catalog entries that need a GPU; off without the key.
    # The proxy URL template names the pod and its HTTP port; the cloud is SECURE or
    # COMMUNITY.
    runpod_api_key: str = ""
    runpod_api_base: str = "https://api.runpod.io"
    runpod_proxy_url: str = "https://{pod_id}-{port}.proxy.runpod.net"
    runpod_cloud: Literal["SECURE", "COMMUNITY"] = "SECURE"
    # Monthly plans on Stripe Billing, as a JSON list (empty: no plans offered).
    subscription_plans: PlanList = ()
    # Days a subscription whose renewal failed keeps its benefits while Stripe retries.
    subscription_grace_days: float = Field(default=7.0, ge=0)

    # Crypto top-ups through Coinbase Commerce; off without the API key.
    coinbase_commerce_api_key: str = ""
    coinbase_commerce_webhook_secret: str = ""
    coinbase_commerce_api_base: str = "https://api.commerce.coinbase.com"

    # Error reports to Sentry: the server's (SENTRY_DSN) and the web console's
    # (SENTRY_BROWSER_DSN). Off when empty.
    sentry_dsn: str = ""
    sentry_browser_dsn: str = ""

    # Product analytics in the web console with PostHog, only with the visitor's consent.
    posthog_key: str = ""
    posthog_host: str = "https://us.i.posthog.com"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gptapi.db').resolve()}"

    @property
    def allow_private_webhook_urls(self) -> bool:
        if self.webhook_allow_private_urls is None:
            return self.environment != "production"
        return self.webhook_allow_private_urls

    def plan(self, plan_id: str) -> PlanSetting | None:
        return next((p for p in self.subscription_plans if p.id == plan_id), None)

    def plan_for_price(self, price_id: str) -> PlanSetting | None:
        return next((p for p in self.subscription_plans if p.stripe_price_id == price_id), None)

    @property
    def signup_credit_nanos(self) -> int:
        if self.signup_credit_usd is None:
            return 0 if self.environment == "production" else 5_000_000_000
        return int(self.signup_credit_usd * 1_000_000_000)

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
