"""Access to the database servers the tests use as real source systems and stores.

In CI (CI=true) a server that does not answer fails the test; elsewhere the test is skipped
with the reason, so a laptop without PostgreSQL/MariaDB still runs the rest.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def require(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
        engine.dispose()
        message = f"database server at {url.split('@')[-1]} not reachable: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must start it: see .ci/run)")
        pytest.skip(message)
    return engine


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
