"""SQLAlchemy models, one table per module; importing this registers them all."""

from gptapi.models.api_key import ApiKey
from gptapi.models.audit_log import AuditLog
from gptapi.models.auth_attempt import AuthAttempt
from gptapi.models.auth_token import AuthToken
from gptapi.models.base import Base
from gptapi.models.billing_account import BillingAccount
from gptapi.models.contact_message import ContactMessage
from gptapi.models.credit_transaction import CreditTransaction
from gptapi.models.incident import Incident
from gptapi.models.incident_update import IncidentUpdate
from gptapi.models.invitation import Invitation
from gptapi.models.membership import Membership
from gptapi.models.model import Model
from gptapi.models.model_price import ModelPrice
from gptapi.models.oauth_identity import OAuthIdentity
from gptapi.models.organization import Organization
from gptapi.models.recovery_code import RecoveryCode
from gptapi.models.server import Server
from gptapi.models.service import Service
from gptapi.models.service_uptime import ServiceLatencySample, ServiceUptimeDaily
from gptapi.models.stripe_event import StripeEvent
from gptapi.models.stripe_payment import StripePayment
from gptapi.models.usage_hourly import UsageHourly
from gptapi.models.usage_log import UsageLog
from gptapi.models.user import User
from gptapi.models.user_session import UserSession
from gptapi.models.webhook_attempt import WebhookAttempt
from gptapi.models.webhook_cursor import WebhookCursor
from gptapi.models.webhook_delivery import WebhookDelivery
from gptapi.models.webhook_endpoint import WebhookEndpoint
from gptapi.models.webhook_event import WebhookEvent

__all__ = [
    "ApiKey",
    "AuditLog",
    "AuthAttempt",
    "AuthToken",
    "Base",
    "BillingAccount",
    "ContactMessage",
    "CreditTransaction",
    "Incident",
    "IncidentUpdate",
    "Invitation",
    "Membership",
    "Model",
    "ModelPrice",
    "OAuthIdentity",
    "Organization",
    "RecoveryCode",
    "Server",
    "Service",
    "ServiceLatencySample",
    "ServiceUptimeDaily",
    "StripeEvent",
    "StripePayment",
    "UsageHourly",
    "UsageLog",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
