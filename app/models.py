"""Imports every domain's tables so that ``Base.metadata`` is complete (alembic, tests)."""

from app.audit import models as audit_models
from app.changes import models as changes_models
from app.conflicts import models as conflicts_models
from app.consent import models as consent_models
from app.db import Base
from app.deliveries import models as deliveries_models
from app.filings import models as filings_models
from app.registry import models as registry_models
from app.security import models as security_models
from app.sources import models as sources_models
from app.subscriptions import models as subscriptions_models

__all__ = [
    "Base",
    "audit_models",
    "changes_models",
    "conflicts_models",
    "consent_models",
    "deliveries_models",
    "filings_models",
    "registry_models",
    "security_models",
    "sources_models",
    "subscriptions_models",
]
