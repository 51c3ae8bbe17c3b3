"""The governed store's schema: the one place tables are defined (changed by migrations)."""

from models import audit, core, marts
from models.base import SCHEMAS, Base

metadata = Base.metadata

__all__ = ["SCHEMAS", "Base", "audit", "core", "marts", "metadata"]
