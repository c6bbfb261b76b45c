"""Settings, read from the environment and `.env`; `.env.example` documents every one."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    # Outgoing mail. With no SMTP_HOST, mail goes to the log and the dev mailbox page.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "GPT API <no-reply@gpt.ai>"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gptapi.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
