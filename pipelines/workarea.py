"""The work area: Parquet files that carry data from one stage to the next.

Each stage opens its own in-memory DuckDB, reads its inputs from here and writes its outputs
here atomically. No two Dagster steps ever share a DuckDB file, so the multiprocess executor
cannot hit DuckDB's single-writer lock, and a killed step leaves no half-written layer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: DuckDB memory per connection (DuckDB's own syntax: "4GB", "500MB"). DuckDB would take 80%
#: of the machine's RAM; bounded, a stage spills to disk instead and a sync of a million
#: records stays within a modest machine.
MEMORY_LIMIT_ENV = "CUSTOMER_STORE_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"


def duckdb_config() -> dict[str, str | bool]:
    """Settings of every DuckDB the pipeline opens: offline, bounded, spilling to temp."""
    return {
        # Machines are offline: never download extensions.
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
        "temp_directory": os.path.join(tempfile.gettempdir(), "customer_store_spill"),
    }


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one stage (see `duckdb_config`)."""
    con = duckdb.connect(":memory:", config=duckdb_config())
    con.execute("SET preserve_insertion_order = true")
    return con


def sql_literal(text: str) -> str:
    """A SQL string literal, for statements that take no bound parameters."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def file_metadata(path: Path, key: str) -> str | None:
    """A key-value metadata entry of a Parquet file (None if absent or no such file)."""
    if not path.exists():
        return None
    value = (pq.read_schema(path).metadata or {}).get(key.encode())
    return value.decode() if value is not None else None


def file_identity(path: Path) -> str:
    """Size and modification time of a layer's file: a kept base is a hard link of the very
    file; a copy that keeps both (`cp -a` of the work area) has the same content too."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class WorkArea:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.parquet"

    def raw_path(self, source: str, activity: str | None = None) -> Path:
        stem = source if activity is None else f"{source}__{activity}"
        return self.root / "raw" / f"{stem}.parquet"

    def _atomic_target(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")

    def write_arrow(self, target: Path, table: pa.Table) -> Path:
        tmp = self._atomic_target(target)
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
        return target

    def write_query(
        self,
        con: duckdb.DuckDBPyConnection,
        target: Path,
        relation: str,
        metadata: dict[str, str] | None = None,
    ) -> int:
        """Write a table or view of `con` to `target` atomically, with `metadata` as the
        file's key-value metadata; returns its row count."""
        tmp = self._atomic_target(target)
        quoted = ".".join(_identifier(part) for part in relation.split("."))
        options = "FORMAT parquet"
        if metadata:
            pairs = ", ".join(f"{_identifier(k)}: {sql_literal(v)}" for k, v in metadata.items())
            options += f", KV_METADATA {{{pairs}}}"
        # COPY takes no bound parameters; identifiers, path and metadata are quoted.
        con.execute(f"COPY (SELECT * FROM {quoted}) TO {sql_literal(str(tmp))} ({options})")  # noqa: S608
        os.replace(tmp, target)
        return int(pq.ParquetFile(target).metadata.num_rows)

    def save(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        relation: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> int:
        return self.write_query(con, self.path(name), relation or name, metadata)

    def layer_metadata(self, name: str, key: str) -> str | None:
        """A key-value metadata entry of layer `name` (None if absent or no such layer)."""
        return file_metadata(self.path(name), key)

    def keep(self, name: str, as_name: str) -> None:
        """Keep layer `name` as `as_name` too (e.g. as the next run's base) without rewriting
        it: a hard link, since layers are only ever replaced (temp file + rename), never
        written in place, so the next run's new `name` leaves `as_name` intact."""
        target = self.path(as_name)
        tmp = self._atomic_target(target)
        try:
            os.link(self.path(name), tmp)
        except OSError:
            shutil.copyfile(self.path(name), tmp)
        os.replace(tmp, target)

    def load_if_tagged(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        tags: dict[str, Path],
        as_name: str | None = None,
    ) -> bool:
        """Load layer `name` (as `load` does) only if, for every metadata key of `tags`, the
        layer names the `file_identity` of that file: a stage's hand-off is used only by the
        run whose files it describes. False (nothing loaded) if a file or tag is missing."""
        if not self.path(name).exists() or not all(p.exists() for p in tags.values()):
            return False
        if any(self.layer_metadata(name, key) != file_identity(p) for key, p in tags.items()):
            return False
        self.load(con, name, as_name)
        return True

    def load(self, con: duckdb.DuckDBPyConnection, name: str, as_name: str | None = None) -> None:
        """Expose a layer in `con` as a view named `as_name` (default: the layer's name)."""
        path = self.path(name)
        if not path.exists():
            raise FileNotFoundError(
                f"work layer {name!r} missing at {path}; materialize the upstream asset first"
            )
        # DuckDB cannot bind parameters in a view definition; the path is quoted as a literal.
        con.execute(
            f"CREATE OR REPLACE VIEW {_identifier(as_name or name)} AS "  # noqa: S608
            f"SELECT * FROM read_parquet({sql_literal(str(path))})"
        )
