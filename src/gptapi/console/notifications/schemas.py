"""Notification preferences as the console API shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class NotificationChoice(BaseModel):
    key: str
    label: str
    description: str
    enabled: bool


class NotificationSettings(BaseModel):
    categories: list[NotificationChoice]
    # Security and account mail (sign-in links, password and email changes, 2FA,
    # invitations) always goes out; said here so the console can show it.
    always_sent: str


class NotificationUpdate(BaseModel):
    """The kinds to change; the ones left out keep their setting."""

    # Strict: a 0 or "no" for a switch is a client bug to report, not a value to guess at.
    model_config = ConfigDict(extra="forbid", strict=True)

    low_balance: bool | None = None
    payments: bool | None = None
    auto_refill: bool | None = None
    deployments: bool | None = None
    webhooks: bool | None = None
    incidents: bool | None = None
    product_news: bool | None = None


class UnsubscribeInfo(BaseModel):
    category: str
    label: str
    email: str  # partly masked: the link may have been forwarded


class Unsubscribed(UnsubscribeInfo):
    unsubscribed: bool
