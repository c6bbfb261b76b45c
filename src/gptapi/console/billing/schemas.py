"""Billing as the console API shows it: money as integer nano-dollars and a dollar string."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gptapi.console.fields import UsdAmount

# Dollars with at most cents; range checks against settings happen in the service.
Dollars = Annotated[Decimal, UsdAmount(integer_digits=6, places=2)]


class Card(BaseModel):
    label: str
    consent_at: datetime | None


class AutoRefill(BaseModel):
    enabled: bool
    threshold_nanos: int
    threshold_usd: str
    amount_nanos: int
    amount_usd: str
    monthly_cap_nanos: int | None
    monthly_cap_usd: str | None
    refilled_this_month_usd: str
    # Set when the platform switched auto-refill off (a decline, or the bank wants the
    # card holder present); shown as a notice on the billing page.
    disabled_reason: str
    in_flight: bool


class BillingOverview(BaseModel):
    balance_nanos: int
    balance_usd: str
    open_holds_nanos: int
    open_holds_usd: str
    payments_configured: bool
    # Crypto top-ups through Coinbase Commerce (COINBASE_COMMERCE_API_KEY).
    crypto_configured: bool
    publishable_key: str | None
    topup_presets_usd: list[int]
    topup_min_usd: int
    topup_max_usd: int
    card: Card | None
    auto_refill: AutoRefill
    low_balance_threshold_nanos: int
    low_balance_threshold_usd: str
    balance_state: str
    running_nanos_per_hour: int = Field(
        description="What the organisation's running deployments cost per hour together."
    )
    hours_left: float | None = Field(
        description="Hours the balance lasts at that burn rate; null when nothing runs."
    )


class CheckoutCreate(BaseModel):
    amount_usd: Dollars
    # Keep the card for auto-refill: the payer agrees to off-session charges.
    save_card: bool = False


class CheckoutCreated(BaseModel):
    id: str
    url: str


class PaymentOut(BaseModel):
    id: int
    kind: str
    status: str
    amount_usd: str
    refunded_usd: str
    receipt_url: str | None
    failure_message: str
    checkout_session_id: str | None
    created_at: datetime


class AutoRefillUpdate(BaseModel):
    enabled: bool
    threshold_usd: Dollars
    amount_usd: Dollars
    monthly_cap_usd: Dollars | None = None


class LowBalanceUpdate(BaseModel):
    threshold_usd: Dollars


class SpendLine(BaseModel):
    name: str
    requests: int
    cost_nanos: int
    cost_usd: str


class Spend(BaseModel):
    month: str
    total_nanos: int
    total_usd: str
    by_model: list[SpendLine]
    by_service: list[SpendLine]


class TransactionLine(BaseModel):
    """One ledger entry, or a day's usage of one model summed."""

    id: str
    kind: str
    at: datetime
    description: str
    entries: int
    amount_nanos: int
    amount_usd: str
    balance_nanos: int
    balance_usd: str
    receipt_url: str | None


class TransactionPage(BaseModel):
    data: list[TransactionLine]
    next_cursor: str | None


class CryptoChargeCreate(BaseModel):
    amount_usd: Dollars


class CryptoChargeOut(BaseModel):
    """A crypto top-up: new → pending (seen on chain) → confirmed (credited); or expired,
    failed, underpaid or delayed (paid late), which Coinbase may still resolve."""

    id: str
    code: str
    status: str
    amount_usd: str
    received_usd: str
    credited_usd: str
    hosted_url: str
    expires_at: datetime | None
    created_at: datetime


class PlanOut(BaseModel):
    id: str
    name: str
    price_usd: str  # a month
    included_credit_usd: str  # added to the balance every paid month
    rpm_limit: int | None  # what key limits are raised to; None: unchanged
    tpm_limit: int | None


class SubscriptionOut(BaseModel):
    plan: str
    plan_name: str
    status: Literal["active", "trialing", "past_due", "canceled", "unpaid"]
    current_period_start: datetime
    # The renewal date, or the end date when cancel_at_period_end.
    current_period_end: datetime
    cancel_at_period_end: bool
    # Past due: until when the plan keeps its benefits while the card is retried.
    grace_ends_at: datetime | None
    ended_at: datetime | None


class SubscriptionOverview(BaseModel):
    available: bool  # plans are configured and payments are on
    plans: list[PlanOut]
    subscription: SubscriptionOut | None


class SubscriptionCheckout(BaseModel):
    plan: str
