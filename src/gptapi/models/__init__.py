"""SQLAlchemy models, one table per module; importing this registers them all."""

from gptapi.models.api_key import ApiKey
from gptapi.models.audit_log import AuditLog
from gptapi.models.auth_attempt import AuthAttempt
from gptapi.models.auth_token import AuthToken
from gptapi.models.base import Base
from gptapi.models.billing_account import BillingAccount
from gptapi.models.compute_catalog_entry import ComputeCatalogEntry
from gptapi.models.compute_rate import ComputeRate
from gptapi.models.contact_message import ContactMessage
from gptapi.models.credit_transaction import CreditTransaction
from gptapi.models.crypto_charge import CryptoCharge
from gptapi.models.crypto_event import CryptoEvent
from gptapi.models.deployment import Deployment, DeploymentReplica, DeploymentRun
from gptapi.models.gpu_price import GpuPriceRow
from gptapi.models.incident import Incident
from gptapi.models.incident_update import IncidentUpdate
from gptapi.models.invitation import Invitation
from gptapi.models.membership import Membership
from gptapi.models.model import Model
from gptapi.models.model_price import ModelPrice
from gptapi.models.notification_preference import NotificationPreference
from gptapi.models.oauth_identity import OAuthIdentity
from gptapi.models.organization import Organization
from gptapi.models.pod import Pod, PodRun
from gptapi.models.recovery_code import RecoveryCode
from gptapi.models.server import Server
from gptapi.models.service import Service
from gptapi.models.service_uptime import ServiceLatencySample, ServiceUptimeDaily
from gptapi.models.status_subscriber import StatusSubscriber
from gptapi.models.stored_response import StoredResponse
from gptapi.models.stripe_event import StripeEvent
from gptapi.models.stripe_payment import StripePayment
from gptapi.models.subscription import Subscription
from gptapi.models.subscription_invoice import SubscriptionInvoice
from gptapi.models.usage_hourly import UsageHourly
from gptapi.models.usage_log import UsageLog
from gptapi.models.usage_retention import UsageRetention
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
    "ComputeCatalogEntry",
    "ComputeRate",
    "ContactMessage",
    "CreditTransaction",
    "CryptoCharge",
    "CryptoEvent",
    "Deployment",
    "DeploymentReplica",
    "DeploymentRun",
    "GpuPriceRow",
    "Incident",
    "IncidentUpdate",
    "Invitation",
    "Membership",
    "Model",
    "ModelPrice",
    "NotificationPreference",
    "OAuthIdentity",
    "Organization",
    "Pod",
    "PodRun",
    "RecoveryCode",
    "Server",
    "Service",
    "ServiceLatencySample",
    "ServiceUptimeDaily",
    "StatusSubscriber",
    "StoredResponse",
    "StripeEvent",
    "StripePayment",
    "Subscription",
    "SubscriptionInvoice",
    "UsageHourly",
    "UsageLog",
    "UsageRetention",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
