"""Invitations: the emailed link, who may accept it, expiry, refresh and cancellation."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.mail.transports import DevMailbox
from gptapi.models import Invitation, Organization
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def _invite(member: Member, email: str, role: str = "developer") -> dict[str, str]:
    response = member.client.post(
        f"/api/orgs/{member.org_id}/invitations", json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def _link_token(console: Platform, email: str) -> str:
    mailbox = console.runtime.console.mailer.transport
    assert isinstance(mailbox, DevMailbox)
    mail = next(m for m in mailbox.messages if m.to == email)
    match = re.search(r"(\S+)/invite\?token=(\S+)", mail.text)
    assert match is not None, mail.text
    assert match.group(1) == console.settings.base_url
    return match.group(2)


def _email() -> str:
    return f"invitee-{uuid.uuid4().hex[:8]}@example.com"


def test_an_invited_person_joins_with_the_invited_role(console: Platform, member: Member) -> None:
    email = _email()
    invitation = _invite(member, email.upper(), "billing")
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        email,
        "billing",
        "pending",
    )
    token = _link_token(console, email)
    preview = httpx.post(f"{console.url}/api/invitations/preview", json={"token": token})
    assert preview.status_code == 200
    assert {k: preview.json()[k] for k in ("email", "role", "status")} == {
        "email": email,
        "role": "billing",
        "status": "pending",
    }
    invitee = sign_in(console, email=email)

    accepted = invitee.client.post("/api/invitations/accept", json={"token": token})
    assert accepted.status_code == 200
    assert (accepted.json()["id"], accepted.json()["role"]) == (str(member.org_id), "billing")
    assert member.client.get(f"/api/orgs/{member.org_id}/invitations").json() == []
    again = invitee.client.post("/api/invitations/accept", json={"token": token})
    assert again.status_code == 404
    gone = httpx.post(f"{console.url}/api/invitations/preview", json={"token": token})
    assert gone.status_code == 404
    assert _invite_status(member, email) == 409
    invitee.client.close()


def _invite_status(member: Member, email: str) -> int:
    return member.client.post(
        f"/api/orgs/{member.org_id}/invitations", json={"email": email, "role": "developer"}
    ).status_code


def test_only_the_invited_address_may_accept(console: Platform, member: Member) -> None:
    email = _email()
    _invite(member, email)
    token = _link_token(console, email)
    stranger = sign_in(console)
    refused = stranger.client.post("/api/invitations/accept", json={"token": token})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "email_mismatch"
    assert stranger.client.get(f"/api/orgs/{member.org_id}").status_code == 404
    assert len(member.client.get(f"/api/orgs/{member.org_id}/invitations").json()) == 1
    stranger.client.close()


def test_expired_invitations_cannot_be_accepted(console: Platform, member: Member) -> None:
    email = _email()
    invitation = _invite(member, email)
    token = _link_token(console, email)

    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(invitation["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    console.run(expire)
    assert member.client.get(f"/api/orgs/{member.org_id}/invitations").json()[0]["status"] == (
        "expired"
    )
    invitee = sign_in(console, email=email)
    response = invitee.client.post("/api/invitations/accept", json={"token": token})
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "invitation_expired"
    assert invitee.client.get(f"/api/orgs/{member.org_id}").status_code == 404
    invitee.client.close()


def test_reinviting_refreshes_the_link(console: Platform, member: Member) -> None:
    email = _email()
    first = _invite(member, email, "developer")
    old_token = _link_token(console, email)
    second = _invite(member, email, "admin")
    new_token = _link_token(console, email)
    assert second["id"] == first["id"] and new_token != old_token
    assert second["role"] == "admin"
    assert len(member.client.get(f"/api/orgs/{member.org_id}/invitations").json()) == 1

    invitee = sign_in(console, email=email)
    assert (
        invitee.client.post("/api/invitations/accept", json={"token": old_token}).status_code == 404
    )
    accepted = invitee.client.post("/api/invitations/accept", json={"token": new_token})
    assert accepted.json()["role"] == "admin"
    invitee.client.close()


def test_cancelled_invitations_stop_working(console: Platform, member: Member) -> None:
    email = _email()
    invitation = _invite(member, email)
    token = _link_token(console, email)
    url = f"/api/orgs/{member.org_id}/invitations/{invitation['id']}"
    assert member.client.delete(url).status_code == 204
    assert member.client.delete(url).status_code == 404
    invitee = sign_in(console, email=email)
    assert invitee.client.post("/api/invitations/accept", json={"token": token}).status_code == 404
    invitee.client.close()


def test_invitations_are_validated(console: Platform, member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/invitations"
    for body in [{"email": "nope", "role": "developer"}, {"email": _email(), "role": "boss"}, {}]:
        assert member.client.post(url, json=body).status_code == 422, body
    assert _invite_status(member, member.email) == 409
    admin = sign_in(console, org_id=member.org_id, role="admin")
    owner_invite = admin.client.post(url, json={"email": _email(), "role": "owner"})
    assert owner_invite.status_code == 403
    assert member.client.get(url).json() == []
    admin.client.close()


def test_line_breaks_in_an_organisation_name_never_stop_the_invitation_mail(
    console: Platform, member: Member
) -> None:
    renamed = member.client.patch(
        f"/api/orgs/{member.org_id}", json={"name": "Acme\r\nBcc: eve@example.com"}
    )
    assert renamed.status_code == 422
    assert renamed.json()["error"]["param"].split(".")[0] == "name"

    async def legacy_name(session: AsyncSession) -> None:  # stored before names were checked
        await session.execute(
            update(Organization)
            .where(Organization.id == member.org_id)
            .values(name="Acme\r\nBcc: eve@example.com")
        )

    console.run(legacy_name)
    email = _email()
    _invite(member, email)
    mailbox = console.runtime.console.mailer.transport
    assert isinstance(mailbox, DevMailbox)
    mail = next(m for m in mailbox.messages if m.to == email)
    assert mail.subject == "You're invited to Acme Bcc: eve@example.com on GPT API"
