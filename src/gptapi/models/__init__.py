"""SQLAlchemy models, one table per module; importing this registers them all."""

from gptapi.models.api_key import ApiKey
from gptapi.models.audit_log import AuditLog
from gptapi.models.base import Base
from gptapi.models.credit_transaction import CreditTransaction
from gptapi.models.membership import Membership
from gptapi.models.model import Model
from gptapi.models.organization import Organization
from gptapi.models.server import Server
from gptapi.models.usage_log import UsageLog
from gptapi.models.user import User
from gptapi.models.user_session import UserSession

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "CreditTransaction",
    "Membership",
    "Model",
    "Organization",
    "Server",
    "UsageLog",
    "User",
    "UserSession",
]
