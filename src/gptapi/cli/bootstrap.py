"""First run of `gptapi serve`: an operator account, starter credit and a key that works."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.config import Settings
from gptapi.console.auth.passwords import hash_password
from gptapi.inference.launcher import AUDIO_MODELS
from gptapi.kit.clock import SystemClock
from gptapi.kit.money import format_usd
from gptapi.models import Model, User

FIRST_RUN_EMAIL = "admin@localhost"


async def first_run(session: AsyncSession, settings: Settings) -> str | None:
    """Create the operator and a starter key when the database has no users; the message
    to show, or None when this is not the first run."""
    if await session.scalar(select(func.count(User.id))):
        return None
    user, organization = await service.create_user(
        session, FIRST_RUN_EMAIL, name="Operator", is_admin=True
    )
    # A password for the web console, shown once like the key (change it after signing in).
    password = secrets.token_urlsafe(12)
    user.password_hash = hash_password(password)
    user.password_changed_at = user.email_verified_at = SystemClock().now()
    if settings.starter_credit_nanos:
        await service.grant_credit(
            session,
            organization,
            settings.starter_credit_nanos,
            reason="Starter credit",
            idempotency_key="grant:first-run",
        )
    _, secret = await service.create_key(session, organization, user, name="starter")
    message = first_run_message(settings, secret, password)
    _save(settings.data_dir / "first-run.txt", message)
    return message


def first_run_message(settings: Settings, secret: str, password: str) -> str:
    credit = format_usd(settings.starter_credit_nanos, 2)
    return f"""
GPT API is ready. Your first API key, with {credit} of starter credit
(shown once; also saved to {settings.data_dir / "first-run.txt"}):

    {secret}

Try it:

curl {settings.base_url}/v1/chat/completions \\
  -H "Authorization: Bearer {secret}" \\
  -H "Content-Type: application/json" \\
  -d '{{"model": "gpt-fast", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

Or with any OpenAI SDK: base_url="{settings.base_url}/v1", api_key="{secret}".
Web console: {settings.base_url}/ (sign in as {FIRST_RUN_EMAIL}, password {password})
More keys and credit: gptapi admin --help
"""


def _save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text.lstrip())


async def local_audio_models(session: AsyncSession, kinds: list[str]) -> None:
    """The local audio servers' models, created the first time each runs: an operator's
    later changes to them (price, name, active) stand."""
    known = set(await session.scalars(select(Model.internal_name)))
    for kind in kinds:
        name, price, description = AUDIO_MODELS[kind]
        if name not in known:
            session.add(
                Model(
                    name=name,
                    internal_name=name,
                    kind=kind,
                    description=description,
                    input_price_per_million_tokens=price,
                    output_price_per_million_tokens=0,
                )
            )
