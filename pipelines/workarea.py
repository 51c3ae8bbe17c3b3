"""The work area: Parquet files that carry data from one stage to the next.

Each stage opens its own in-memory DuckDB, reads its inputs from here and writes its outputs
here atomically. No two Dagster steps ever share a DuckDB file, so the multiprocess executor
cannot hit DuckDB's single-writer lock, and a killed step leaves no half-written layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: A layer kept as its base plus a change grows its change until that holds more than this
#: share of the base's rows; then it is written whole again (see `WorkArea.save_over`).
CHAIN_COMPACT_SHARE = 0.10

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


def over_base(base: str, drop: str, add: str, keys: list[str]) -> str:
    """The SQL of relation `base` without its rows whose `keys` are in relation `drop`, plus
    relation `add`'s rows: how a layer kept as a change reads (`WorkArea.save_over`), and the
    view a stage holds of the same rows before it saves them. Relations are table or view
    names, `read_parquet(...)` or parenthesised queries."""
    key_list = ", ".join(_identifier(k) for k in keys)
    return (
        f"SELECT * FROM {base} b ANTI JOIN (SELECT {key_list} FROM {drop}) d "  # noqa: S608
        f"USING ({key_list}) UNION ALL BY NAME SELECT * FROM {add}"
    )


def file_metadata(path: Path, key: str) -> str | None:
    """A key-value metadata entry of a Parquet file (None if absent or no such file)."""
    if not path.exists():
        return None
    value = (pq.read_schema(path).metadata or {}).get(key.encode())
    return value.decode() if value is not None else None


def atomic_target(target: Path) -> Path:
    """A temporary name beside `target` for a file renamed onto it once complete (a crash
    never leaves `target` half written)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def link_file(source: Path, target: Path) -> None:
    """Make `target` the file `source` atomically: a hard link (no copy; both must only ever
    be replaced, never written in place), a copy where the file system has no hard links."""
    tmp = atomic_target(target)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def file_identity(path: Path) -> str:
    """Size and modification time of a layer's file: a kept base is a hard link of the very
    file; a copy that keeps both (`cp -a` of the work area) has the same content too."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


# Files of the layers kept as a change (`WorkArea.save_over`), under the work area.
PARTS = "parts"


class WorkArea:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """The file of a layer written whole (see `chain_path` for a layer kept as a change)."""
        return self.root / f"{name}.parquet"

    def chain_path(self, name: str) -> Path:
        """The description of a layer kept as its base plus a change (`save_over`)."""
        return self.root / f"{name}.chain.json"

    def _chain(self, name: str) -> dict | None:
        try:
            return json.loads(self.chain_path(name).read_text())
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        """Whether layer `name` is there, written whole or kept as a change."""
        return self.chain_path(name).exists() or self.path(name).exists()

    def identity(self, name: str) -> str:
        """`file_identity` of the layer's file; for a layer kept as a change, a hash of its
        description, which names files no later run replaces: a kept copy (`keep`) of the
        layer has the identity of the layer it was kept from."""
        chain = self.chain_path(name)
        if chain.exists():
            return "chain:" + hashlib.sha256(chain.read_bytes()).hexdigest()[:32]
        return file_identity(self.path(name))

    def schema_path(self, name: str) -> Path:
        """A file with the layer's columns: its own, or (kept as a change) its base file, or
        (kept in parts) its first part."""
        chain = self._chain(name)
        if chain is None:
            return self.path(name)
        return self.root / (chain["parts"][0] if "parts" in chain else chain["base"])

    def rows(self, name: str) -> int:
        """The layer's row count (0 if absent)."""
        if self._chain(name) is None:
            path = self.path(name)
            return int(pq.ParquetFile(path).metadata.num_rows) if path.exists() else 0
        con = connect()
        try:
            count = f"SELECT count(*) FROM ({self.relation(name)})"  # noqa: S608
            return int(con.execute(count).fetchall()[0][0])
        finally:
            con.close()

    def raw_path(self, source: str, activity: str | None = None) -> Path:
        stem = source if activity is None else f"{source}__{activity}"
        return self.root / "raw" / f"{stem}.parquet"

    def write_arrow(self, target: Path, table: pa.Table) -> Path:
        tmp = atomic_target(target)
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
        tmp = atomic_target(target)
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
        # A description of the layer as a change goes first: until the whole file is
        # there, readers see the layer as before this run or missing, never the old change.
        self.chain_path(name).unlink(missing_ok=True)
        rows = self.write_query(con, self.path(name), relation or name, metadata)
        self._collect_parts(name)
        return rows

    def save_over(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        *,
        base: str,
        drop: str,
        add: str,
        keys: list[str],
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Save layer `name` = layer `base` without its rows whose `keys` are in relation
        `drop`, plus relation `add`'s rows, without writing the base's rows again: the layer
        is kept as the whole file the base started from and the change accumulated over the
        runs since (the keys to drop from that file, the rows added). Written whole instead
        once the change holds more than CHAIN_COMPACT_SHARE of that file's rows.
        (Rewriting the 4.3M provenance and 3.6M activity rows of the million-record demo
        for a 1% change cost ~0.9 + ~1.8 s a night under py-spy.)"""
        self.load(con, base, "__chain_base")
        key_list = ", ".join(_identifier(k) for k in keys)
        whole = over_base("__chain_base", drop, add, keys)
        con.execute(f"CREATE OR REPLACE TEMP VIEW __chain_whole AS {whole}")
        try:
            previous = self._chain(base)
            if previous is not None and previous.get("keys") != keys:
                self.save(con, name, "__chain_whole", metadata)
                return
            if previous is None:
                whole = self.path(base)
                dropped = f"SELECT {key_list} FROM __chain_base LIMIT 0"  # noqa: S608
                added = "SELECT * FROM __chain_base LIMIT 0"
            else:
                whole = self.root / previous["base"]
                dropped, added = (
                    f"SELECT * FROM read_parquet({sql_literal(str(self.root / previous[p]))})"  # noqa: S608
                    for p in ("drop", "add")
                )
            # base = whole - dropped + added, so base - drop + add = whole - (dropped + drop)
            # + (added - drop + add).
            still_added = over_base(f"({added})", drop, add, keys)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __chain_drop AS "  # noqa: S608 - quoted identifiers
                f"SELECT {key_list} FROM ({dropped}) b UNION SELECT {key_list} FROM {drop};"
                f"CREATE OR REPLACE TEMP TABLE __chain_add AS {still_added}"
            )
            (changed,), = con.execute(
                "SELECT greatest((SELECT count(*) FROM __chain_drop), "
                "(SELECT count(*) FROM __chain_add))"
            ).fetchall()
            if changed > CHAIN_COMPACT_SHARE * pq.ParquetFile(whole).metadata.num_rows:
                self.save(con, name, "__chain_whole", metadata)
                return
            stem = f"{PARTS}/{name}.{uuid.uuid4().hex}"
            chain = {"keys": keys, "metadata": metadata or {}}
            if previous is None:
                # A link of the base's file under a name no later run replaces.
                chain["base"] = f"{stem}.base.parquet"
                link_file(whole, self.root / chain["base"])
            else:
                chain["base"] = previous["base"]
            for part in ("drop", "add"):
                chain[part] = f"{stem}.{part}.parquet"
                self.write_query(con, self.root / chain[part], f"__chain_{part}")
            self._write_chain(name, chain)
            # After the description: a crash in between leaves the layer as described.
            self.path(name).unlink(missing_ok=True)
            self._collect_parts(name)
        finally:
            for table in ("__chain_drop", "__chain_add"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute("DROP VIEW __chain_whole")
            con.execute("DROP VIEW __chain_base")

    def part_path(self, name: str) -> Path:
        """A new file for one part of layer `name` (see `save_parts`)."""
        return self.root / PARTS / f"{name}.{uuid.uuid4().hex}.part.parquet"

    def save_parts(
        self, name: str, parts: list[Path], metadata: dict[str, str] | None = None
    ) -> None:
        """Save layer `name` as the rows of `parts` (files from `part_path`, written by the
        caller or kept from the layer's last version), in that order: a part that did not
        change is not written again. (`mapped` is kept a part per source: on a nightly run
        most sources' raw layers are the same, and mapping and writing every source's rows
        again cost ~1.9 s at a million records under py-spy.)"""
        chain = {
            "parts": [str(part.relative_to(self.root)) for part in parts],
            "metadata": metadata or {},
        }
        self._write_chain(name, chain)
        # After the description: a crash in between leaves the layer as described.
        self.path(name).unlink(missing_ok=True)
        self._collect_parts(name)

    def _write_chain(self, name: str, chain: dict) -> None:
        target = self.chain_path(name)
        tmp = atomic_target(target)
        tmp.write_text(json.dumps(chain, sort_keys=True))
        os.replace(tmp, target)

    def _collect_parts(self, name: str) -> None:
        """Remove the files of `name`'s kept changes that no layer describes any more. Only
        `name`'s own: the stage that writes a layer is the only one that writes its parts."""
        folder = self.root / PARTS
        if not folder.exists():
            return
        used = set()
        for description in self.root.glob("*.chain.json"):
            try:
                chain = json.loads(description.read_text())
            except (OSError, ValueError):
                continue
            files = chain.get("parts") or [chain[p] for p in ("base", "drop", "add")]
            used.update(Path(file).name for file in files)
        for part in folder.glob(f"{name}.*.parquet"):
            if part.name not in used:
                part.unlink(missing_ok=True)

    def relation(self, name: str) -> str:
        """The SQL of layer `name`'s rows (its file, its parts in order, or its base without
        the dropped keys plus the added rows)."""
        chain = self._chain(name)
        if chain is None:
            path = self.path(name)
            if not path.exists():
                raise FileNotFoundError(
                    f"work layer {name!r} missing at {path}; materialize the upstream asset first"
                )
            return f"SELECT * FROM read_parquet({sql_literal(str(path))})"  # noqa: S608
        if "parts" in chain:
            files = ", ".join(sql_literal(str(self.root / part)) for part in chain["parts"])
            return f"SELECT * FROM read_parquet([{files}])"  # noqa: S608
        base, drop, add = (
            f"read_parquet({sql_literal(str(self.root / chain[part]))})"
            for part in ("base", "drop", "add")
        )
        return over_base(base, drop, add, chain["keys"])

    def materialize(self, name: str, target: Path) -> Path:
        """Write layer `name` whole to `target` (a layer kept as a change has no such file)."""
        con = connect()
        try:
            self.load(con, name, "__whole")
            self.write_query(con, target, "__whole")
        finally:
            con.close()
        return target

    def layer_metadata(self, name: str, key: str) -> str | None:
        """A key-value metadata entry of layer `name` (None if absent or no such layer)."""
        chain = self._chain(name)
        if chain is not None:
            return chain["metadata"].get(key)
        return file_metadata(self.path(name), key)

    def keep(self, name: str, as_name: str) -> None:
        """Keep layer `name` as `as_name` too (e.g. as the next run's base) without rewriting
        it: a hard link, since layers are only ever replaced (temp file + rename), never
        written in place, so the next run's new `name` leaves `as_name` intact."""
        chain = self._chain(name)
        if chain is not None:
            # The description names files no run replaces: a copy of it is a kept layer.
            self._write_chain(as_name, chain)
            self.path(as_name).unlink(missing_ok=True)
        else:
            self.chain_path(as_name).unlink(missing_ok=True)
            link_file(self.path(name), self.path(as_name))
        self._collect_parts(name)

    def load_if_tagged(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        tags: dict[str, Path | str],
        as_name: str | None = None,
    ) -> bool:
        """Load layer `name` (as `load` does) only if, for every metadata key of `tags`, the
        layer names the identity of that file (a Path: `file_identity`) or layer (a name:
        `identity`): a stage's hand-off is used only by the run whose files it describes.
        False (nothing loaded) if a file, layer or tag is missing."""

        def identity(tagged: Path | str) -> str | None:
            if isinstance(tagged, Path):
                return file_identity(tagged) if tagged.exists() else None
            return self.identity(tagged) if self.exists(tagged) else None

        if not self.exists(name):
            return False
        for key, tagged in tags.items():
            current = identity(tagged)
            if current is None or self.layer_metadata(name, key) != current:
                return False
        self.load(con, name, as_name)
        return True

    def load(self, con: duckdb.DuckDBPyConnection, name: str, as_name: str | None = None) -> None:
        """Expose a layer in `con` as a view named `as_name` (default: the layer's name)."""
        # DuckDB cannot bind parameters in a view definition; paths are quoted as literals.
        con.execute(
            f"CREATE OR REPLACE VIEW {_identifier(as_name or name)} AS {self.relation(name)}"  # noqa: S608
        )
