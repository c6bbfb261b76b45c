"""Settings, read from the environment and `.env`; `.env.example` documents every one."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _comma_separated(value: object) -> object:
    return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value


# "5,300,1800" in the environment; a list or tuple in code.
SecondsList = Annotated[
    tuple[Annotated[float, Field(ge=0)], ...], NoDecode, BeforeValidator(_comma_separated)
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = ""  # what docs and curl hints print; defaults to http://host:port
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite under data_dir
    log_level: str = "info"

    # Upstream fleet: a TOML file mapping each public model to its llama-server pool.
    fleet_config: Path | None = None
    # "auto" starts local llama.cpp servers when no fleet config is given.
    local_inference: Literal["auto", "on", "off"] = "auto"
    local_parallel: int = Field(default=4, ge=1, le=64)
    local_ctx_per_slot: int = Field(default=2048, ge=256)
    local_threads: int = Field(default=0, ge=0)  # 0: llama.cpp decides

    # Starter credit for the first-run key printed by `gptapi serve` (nano-dollars).
    starter_credit_nanos: int = Field(default=5_000_000_000, ge=0)

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

    # Credit: how long a cached balance is trusted before re-reading the database.
    balance_refresh_seconds: float = Field(default=2.0, gt=0)

    # Routing
    health_interval_seconds: float = Field(default=2.0, gt=0)
    server_sync_seconds: float = Field(default=2.0, gt=0)
    queue_timeout_seconds: float = Field(default=10.0, ge=0)
    max_queue_per_model: int = Field(default=256, ge=0)
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

    # Outgoing mail. With no SMTP_HOST, mail goes to the log and the dev mailbox page.
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

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
