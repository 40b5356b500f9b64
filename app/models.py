"""Imports every domain's tables so that ``Base.metadata`` is complete (alembic, tests)."""

from app.audit import models as audit_models
from app.db import Base
from app.registry import models as registry_models
from app.security import models as security_models

__all__ = ["Base", "audit_models", "registry_models", "security_models"]
