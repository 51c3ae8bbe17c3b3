"""The governed store's schema: the one place tables are defined (changed by migrations)."""

from models import audit, core, marts
from models.base import SCHEMAS, Base

metadata = Base.metadata

# Tables whose primary key a DuckDB store does not hold as an index (migration 0004): the
# publish verifies their keys instead (`pipelines.publish.store.verify_keys`). PostgreSQL
# enforces every key.
KEYS_VERIFIED_ON_DUCKDB = frozenset(
    {
        "core.activity",
        "core.customer_attribute_provenance",
        "core.linkage_evidence",
        "core.customer_source_xref",
    }
)

__all__ = ["KEYS_VERIFIED_ON_DUCKDB", "SCHEMAS", "Base", "audit", "core", "marts", "metadata"]
