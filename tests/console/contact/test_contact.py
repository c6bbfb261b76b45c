"""POST /api/contact: stored, mailed to the operator, throttled per client address."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from gptapi.models import ContactMessage
from tests.console.auth.flows import SmtpInbox
from tests.console.contact.conftest import ContactPlatform
from tests.support.console import ConsoleClient, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until


def form(**overrides: str) -> dict[str, str]:
    values = {
        "name": "Ada Lovelace",
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "message": "How do I raise my rate limit?\nThanks.",
    }
    values.update(overrides)
    return values


def stored(platform: Platform, email: str) -> list[ContactMessage]:
    return platform.rows(select(ContactMessage).where(ContactMessage.email == email))


def test_a_visitor_message_is_stored_and_mailed_to_every_admin(
    env: ContactPlatform, visitor: ConsoleClient
) -> None:
    admin = sign_in(env.platform, admin=True)
    admin.client.close()
    body = form()
    response = visitor.post("/api/contact", json=body)
    assert response.status_code == 202, response.text
    [row] = stored(env.platform, body["email"])
    assert (row.id, row.name, row.message, row.user_id) == (
        response.json()["id"],
        "Ada Lovelace",
        body["message"],
        None,
    )
    wait_until(lambda: any(m.to == admin.email for m in env.mailbox.messages))
    mail = next(m for m in env.mailbox.messages if m.to == admin.email)
    assert f"#{row.id}" in mail.subject
    assert body["email"] in mail.text and body["message"] in mail.text


def test_a_signed_in_sender_is_linked(env: ContactPlatform) -> None:
    member = sign_in(env.platform)
    body = form(email=member.email)
    assert member.client.post("/api/contact", json=body).status_code == 202
    [row] = stored(env.platform, member.email)
    assert row.user_id == member.user_id
    member.client.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "Ada\nBcc: someone@example.com"},
        {"name": "x" * 201},
        {"email": "not-an-address"},
        {"message": ""},
        {"message": " \n\t "},
        {"message": "hello\x07"},
        {"message": "x" * 5001},
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    env: ContactPlatform, visitor: ConsoleClient, bad: dict[str, str]
) -> None:
    body = form(**bad)
    response = visitor.post("/api/contact", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert stored(env.platform, body["email"]) == []


def test_a_nul_character_is_refused_up_front(env: ContactPlatform, visitor: ConsoleClient) -> None:
    body = form(message="hello\x00")
    response = visitor.post("/api/contact", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "message"
    assert stored(env.platform, body["email"]) == []


def test_an_address_may_send_five_messages_an_hour(
    env: ContactPlatform, visitor: ConsoleClient
) -> None:
    for _ in range(5):
        assert visitor.post("/api/contact", json=form()).status_code == 202
    refused_body = form()
    refused = visitor.post("/api/contact", json=refused_body)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert stored(env.platform, refused_body["email"]) == []
    env.clock.advance(3601)
    assert visitor.post("/api/contact", json=form()).status_code == 202


def test_contact_email_receives_it_over_smtp(backend: str, tmp_path: Path) -> None:
    inbox = SmtpInbox().start()
    try:
        with fresh_database(backend, tmp_path) as url:
            settings = settings_for(
                url,
                tmp_path,
                smtp_host="127.0.0.1",
                smtp_port=inbox.port,
                smtp_security="none",
                contact_email="support@example.com",
            )
            platform = Platform(settings).start()
            try:
                client = ConsoleClient(platform.url)
                body = form()
                assert client.post("/api/contact", json=body).status_code == 202
                client.close()
                mail = inbox.wait_for("support@example.com")
                assert body["message"] in mail.get_content().replace("\r\n", "\n")
            finally:
                platform.stop()
    finally:
        inbox.stop()
