"""Mail through Resend and SendGrid against loopback doubles of their APIs: the wire format,
retries on 429 and 5xx with the provider's Retry-After honoured, no retry on a refusal, and
the choice of provider from configuration."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gptapi.mail.http_api import HttpApiMailer, ResendMailer, SendGridMailer
from gptapi.mail.message import Mail
from gptapi.mail.transports import DevMailbox, SmtpMailer, build_transport
from tests.support.mail_apis import RESEND_KEY, SENDGRID_KEY, ResendDouble, SendGridDouble
from tests.support.platform import test_settings as settings_for

BASE_WAIT = 0.25
MAIL = Mail(
    "ada@example.com",
    "Your API credit is running low",
    "Your balance is $1.00.",
    headers=(("List-Unsubscribe", "<https://gpt.ai/api/notifications/unsubscribe?token=t>"),),
)


@pytest.fixture(scope="module", params=["resend", "sendgrid"])
def provider(request: pytest.FixtureRequest) -> Iterator[ResendDouble | SendGridDouble]:
    double: ResendDouble | SendGridDouble = (
        ResendDouble() if request.param == "resend" else SendGridDouble()
    )
    double.start()
    try:
        yield double
    finally:
        double.stop()


def mailer_for(double: ResendDouble | SendGridDouble, tmp: Path, **extra: Any) -> HttpApiMailer:
    if isinstance(double, ResendDouble):
        values = {"resend_api_key": RESEND_KEY, "resend_api_base": double.url}
    else:
        values = {"sendgrid_api_key": SENDGRID_KEY, "sendgrid_api_base": double.url}
    values.update(extra)
    settings = settings_for(
        "sqlite://", tmp, mail_retry_base_seconds=BASE_WAIT, mail_max_attempts=4, **values
    )
    mailer = build_transport(settings)
    assert isinstance(mailer, HttpApiMailer)
    return mailer


def send(mailer: HttpApiMailer, mail: Mail = MAIL) -> list[float]:
    """Send; the waits the mailer asked for between attempts (none really taken)."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    mailer.sleep = record
    asyncio.run(mailer.send(mail))
    return waits


def test_a_mail_arrives_in_the_providers_format(
    provider: ResendDouble | SendGridDouble, tmp_path: Path
) -> None:
    mailer = mailer_for(provider, tmp_path)
    before = len(provider.state.sent)
    assert send(mailer) == []
    delivered = provider.state.sent[before:]
    assert len(delivered) == 1
    mail = delivered[0]
    assert mail.to == ["ada@example.com"] and mail.subject == MAIL.subject
    assert mail.text == MAIL.text and mail.html is None
    assert mail.headers == dict(MAIL.headers)
    assert mail.sender in ("GPT API <no-reply@gpt.ai>", "no-reply@gpt.ai")


def test_rate_limits_and_server_errors_are_retried_with_backoff(
    provider: ResendDouble | SendGridDouble, tmp_path: Path
) -> None:
    mailer = mailer_for(provider, tmp_path)
    provider.state.fail_next(429, retry_after="3")
    provider.state.fail_next(503)
    attempts, before = provider.state.attempts, len(provider.state.sent)
    waits = send(mailer)
    assert waits == [3.0, BASE_WAIT * 2]  # Retry-After wins over the first backoff
    assert provider.state.attempts - attempts == 3
    assert len(provider.state.sent) - before == 1  # delivered once, not three times


def test_a_provider_that_keeps_failing_is_given_up_on(
    provider: ResendDouble | SendGridDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = mailer_for(provider, tmp_path)
    for _ in range(4):
        provider.state.fail_next(500)
    attempts, before = provider.state.attempts, len(provider.state.sent)
    assert send(mailer) == [BASE_WAIT, BASE_WAIT * 2, BASE_WAIT * 4]
    assert provider.state.attempts - attempts == 4
    assert len(provider.state.sent) == before
    assert "gave up" in caplog.text


def test_a_refusal_is_not_retried(provider: ResendDouble | SendGridDouble, tmp_path: Path) -> None:
    key = "resend_api_key" if isinstance(provider, ResendDouble) else "sendgrid_api_key"
    mailer = mailer_for(provider, tmp_path, **{key: "wrong"})
    attempts = provider.state.attempts
    assert send(mailer) == []
    assert provider.state.attempts - attempts == 1


def test_resend_retries_carry_one_idempotency_key(tmp_path: Path) -> None:
    double = ResendDouble().start()
    try:
        mailer = mailer_for(double, tmp_path)
        double.state.fail_next(502)
        send(mailer)
        send(mailer)
        assert len(double.state.idempotent) == 2  # one key per mail, not per attempt
    finally:
        double.stop()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, DevMailbox),
        ({"smtp_host": "mail.example.com", "resend_api_key": "re_x"}, SmtpMailer),
        ({"resend_api_key": "re_x", "sendgrid_api_key": "SG.x"}, ResendMailer),
        ({"sendgrid_api_key": "SG.x"}, SendGridMailer),
        (
            {"mail_provider": "sendgrid", "resend_api_key": "re_x", "sendgrid_api_key": "SG.x"},
            SendGridMailer,
        ),
        ({"mail_provider": "dev", "resend_api_key": "re_x"}, DevMailbox),
    ],
)
def test_the_provider_is_chosen_by_configuration(
    values: dict[str, str], expected: type, tmp_path: Path
) -> None:
    assert type(build_transport(settings_for("sqlite://", tmp_path, **values))) is expected


def test_a_provider_named_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="RESEND_API_KEY"):
        build_transport(settings_for("sqlite://", tmp_path, mail_provider="resend"))
