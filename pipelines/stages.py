"""The nightly sync's stages as plain functions: Dagster assets call these, tests can too.

Each stage reads its inputs from the work area, writes its outputs there, and returns the
figures it wants shown (counts only: never personal values).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from pipelines.cleanse.incremental import (
    cleanse_incrementally,
    expects_incremental,
    quality_counts,
    save_quality_counts,
    save_staged,
    staged_changes,
)
from pipelines.cleanse.incremental import save_base as save_cleanse_base
from pipelines.cleanse.incremental import save_changes as save_cleanse_changes
from pipelines.extract.assessment import source_assessment
from pipelines.extract.extract import (
    SOURCE_LOAD,
    ExtractResult,
    build_mapped,
    extract_table,
    mapped_parts,
    raw_records,
    run_load_time,
)
from pipelines.extract.incremental import (
    read_store_watermarks,
    write_watermark_layer,
)
from pipelines.faults import fault_point
from pipelines.golden.incremental import (
    GOLDEN_CHANGES,
    PROVENANCE_DELTA,
    build_golden_incrementally,
    load_golden_changes,
    rules_fingerprint,
)
from pipelines.golden.survivorship import build_golden
from pipelines.golden.survivorship import load_config as load_survivorship
from pipelines.identity.assign import ASSIGNMENT_CHANGES, assign_ids, assign_ids_incrementally
from pipelines.identity.erasure import apply_suppression
from pipelines.link import clustering
from pipelines.link.clustering import cluster, cluster_incrementally
from pipelines.link.incremental import (
    BASE_PAIRS,
    BASE_STAGED,
    PAIRS_ADD,
    PAIRS_DROP,
    link_incrementally,
)
from pipelines.link.linkage import link
from pipelines.link.review import build_review_queue
from pipelines.marts.customer_360 import (
    ACTIVITY_DELTA,
    C360_ADD,
    C360_DROP,
    MART_CHANGES,
    build_customer_360,
    build_customer_360_incrementally,
    resolve_activity,
    resolve_activity_incrementally,
)
from pipelines.marts.kpi_monthly import (
    CUSTOMER_MONTHS,
    build_customer_months,
    build_customer_months_incrementally,
)
from pipelines.publish import store
from pipelines.publish.edit import store_lock
from pipelines.publish.prepare import (
    XREF,
    PairsVersion,
    build_publish_tables,
    changed_customers,
    changed_marts,
    changed_records,
    identity_inputs,
    linked_pairs_sql,
    load_previous_state,
    restore_previous,
    save_assignment_moves,
    snapshot_versions,
    table_loads,
)
from pipelines.settings import Settings
from pipelines.steward import load_steward_decisions
from pipelines.workarea import WorkArea, connect, sql_literal
from sources.registry import Registry, load_registry


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def registry(settings: Settings) -> Registry:
    return load_registry(settings.sources_config)


def work_area(settings: Settings) -> WorkArea:
    return WorkArea(settings.work_dir)


def _load(con: duckdb.DuckDBPyConnection, work: WorkArea, *names: str) -> None:
    for name in names:
        work.load(con, name)


def _materialise(con: duckdb.DuckDBPyConnection, work: WorkArea, *names: str) -> None:
    """Load layers as tables (not views) where a stage reads them many times (in place of
    the view of that name, if the stage made one first)."""
    for name in names:
        con.execute(f'DROP VIEW IF EXISTS "{name}"')
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {work.relation(name)}')  # noqa: S608


def staged_in_source_order(work: WorkArea, sources: Registry) -> str:
    """The SQL of the staged records in the order a full cleanse writes them (the sources in
    registry order, each in row order). A layer kept as a change (`cleanse.save_staged`)
    lists its added records last; the full linkage samples its training pairs from the
    records in table order, so it reads them in this order, the model then the same as a
    run that cleansed everything would train."""
    relation = work.relation("staged")
    if not work.chain_path("staged").exists():
        return relation
    names = ", ".join(sql_literal(source.name) for source in sources.sources)
    return (
        f"SELECT * FROM ({relation}) "  # noqa: S608 - source names quoted as literals
        f"ORDER BY list_position([{names}], source_system) NULLS LAST, source_system, "
        "source_row_number"
    )


def extract(
    settings: Settings,
    source_name: str,
    activity: str | None = None,
    *,
    run_id: str | None = None,
) -> ExtractResult:
    """Extract one table of a source: its customers (activity None) or one activity table.

    Incremental tables read only what changed since their published watermark;
    `settings.full_refresh` re-reads everything and rebuilds the snapshot."""
    work = work_area(settings)
    source = registry(settings).get(source_name)
    published, _note = read_store_watermarks(settings.store_url)
    table = extract_table(
        source.read(activity),
        work,
        run_load_time(work, run_id, utcnow()),
        published=published,
        full_refresh=settings.full_refresh,
        run_id=run_id,
    )
    fault_point("extract.after_first_source")
    result = ExtractResult(
        source_name, table.rows, unmapped_columns=table.unmapped_columns,
        tables={table.table: table},
    )
    if activity is None:
        (work.root / "raw").mkdir(parents=True, exist_ok=True)
        (work.root / "raw" / f"{source_name}.unmapped.json").write_text(
            json.dumps(result.unmapped_columns)
        )
    else:
        result.activity_rows[activity] = table.rows
    return result


def stage_customers(settings: Settings) -> dict[str, Any]:
    """Map every extracted source to canonical fields, then cleanse: staged + quarantine."""
    work = work_area(settings)
    sources = registry(settings)
    con = connect()
    incremental = expects_incremental(work, full=settings.full_refresh)
    per_source = build_mapped(sources, work, con=con, raw_record=not incremental)
    # Every table is extracted by now: this run's watermarks become the publish layer, so
    # they advance only if the publish succeeds.
    write_watermark_layer(
        work, settings.store_url, [t.key for s in sources.sources for t in s.reads()]
    )
    # Only records that changed since the last successful run are cleansed again.
    counts = cleanse_incrementally(
        con,
        work,
        "mapped",
        full=settings.full_refresh,
        max_share=settings.incremental_max_share,
        raw_records=partial(raw_records, work, "mapped"),
        parts=mapped_parts(work),
    )
    # The erasure suppression applies to every staged row, kept or cleansed, every run.
    suppression = store.read_tables(settings.store_url, ["audit.suppression"])
    counts["suppressed_by_erasure"] = apply_suppression(con, suppression.get("audit.suppression"))
    save_staged(con, work)
    work.save(con, "quarantine")
    # What changed, for the linkage and golden records, and the data-quality counts for the
    # publish: saved before the base moves on.
    save_cleanse_changes(con, work)
    save_quality_counts(con, work, suppressed=counts["suppressed_by_erasure"])
    save_cleanse_base(con, work)
    con.close()
    return {"records_per_source": per_source, **counts}


# The records whose pairs an incremental linking scored again or dropped (`link_incrementally`).
PAIRS_TOUCHED = "pairs_touched"
# The pairs the last clustering used (a hard link), kept beside its output (`clusters`,
# `cluster_review`) as the next run's base.
CLUSTER_BASE_PAIRS = "clusters_base__pairs"


def score_pairs(settings: Settings) -> dict[str, Any]:
    work = work_area(settings)
    # Splink logs a warning per comparison level it cannot train on small data; the figures
    # that matter are returned and attached to the asset instead.
    logging.getLogger("splink").setLevel(logging.ERROR)
    con = connect()
    # Score down to the bottom of the review band: those pairs feed the review queue.
    threshold = min(settings.match_threshold, settings.review_min_probability, 0.5)
    incremental = None
    if not settings.full_relink and settings.linkage_backend == "duckdb":
        # A view: the incremental linking reads staged once (into Splink's input table).
        _load(con, work, "staged")
        incremental = link_incrementally(
            con,
            staged="staged",
            changes=staged_changes(con, work, BASE_STAGED),
            base_staged=work.relation(BASE_STAGED) if work.exists(BASE_STAGED) else None,
            base_pairs=work.relation(BASE_PAIRS) if work.exists(BASE_PAIRS) else None,
            model_dir=work.root / "model",
            seed=settings.seed,
            threshold_probability=threshold,
            u_sample_pairs=settings.u_sample_pairs,
            max_share=settings.incremental_max_share,
        )
    if incremental is not None:
        work.save_over(
            con, "pairs", base=BASE_PAIRS, drop=PAIRS_DROP, add=PAIRS_ADD,
            keys=["record_key_l", "record_key_r"],
        )
        # Tied to the pairs it describes and to the base they were made from (identities).
        work.save(
            con,
            PAIRS_TOUCHED,
            metadata={"pairs": work.identity("pairs"), "base": work.identity(BASE_PAIRS)},
        )
        work.keep("pairs", BASE_PAIRS)
        work.keep("staged", BASE_STAGED)
        con.close()
        fault_point("link.after_scoring")
        return {
            "mode": "incremental",
            "records": incremental.records,
            "records_rescored": incremental.changed,
            "records_removed": incremental.removed,
            "pairs_rescored": incremental.pairs_rescored,
            "pairs_kept": incremental.pairs_kept,
            "pairs_scored": incremental.pairs_rescored + incremental.pairs_kept,
            "training": "reused",
            "model_path": str(incremental.model_path),
        }
    # The full linking reads staged many times: a table.
    con.execute('DROP VIEW IF EXISTS "staged"')
    con.execute(
        f"CREATE OR REPLACE TABLE staged AS {staged_in_source_order(work, registry(settings))}"
    )
    result = link(
        con,
        "staged",
        seed=settings.seed,
        threshold_probability=threshold,
        model_dir=work.root / "model",
        backend=settings.linkage_backend,  # type: ignore[arg-type]
        spark_master=settings.spark_master,
        u_sample_pairs=settings.u_sample_pairs,
        comparison_viewer=True,
    )
    work.save(con, "pairs")
    work.path(PAIRS_TOUCHED).unlink(missing_ok=True)
    work.keep("pairs", BASE_PAIRS)
    work.keep("staged", BASE_STAGED)
    con.close()
    fault_point("link.after_scoring")
    return {
        "mode": "full relink" if settings.full_relink else "full",
        "records": result.n_records,
        "pairs_scored": result.n_pairs,
        "training": result.training_mode,
        "backend": result.backend,
        "model_version": result.profile_hash,
        "columns_used": list(result.columns_used),
        "model_path": str(result.model_path) if result.model_path else None,
        "match_weights_chart": str(result.chart_paths[0]) if result.chart_paths else None,
        "comparison_viewer": (
            str(result.comparison_viewer_path) if result.comparison_viewer_path else None
        ),
        "notes": list(result.notes),
    }


def _clustering_inputs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """What makes two clusterings of the same pairs agree: the settings, the steward
    decisions and the clustering code."""
    listed = (
        "SELECT string_agg(record_key_l || '>' || record_key_r, ',' "
        "ORDER BY record_key_l, record_key_r) FROM {}"
    )
    (decisions,), = con.execute(
        f"SELECT md5(concat_ws('|', ({listed.format('must_link')}), "  # noqa: S608 - constants
        f"({listed.format('cannot_link')})))"
    ).fetchall()
    code = hashlib.sha256(Path(clustering.__file__).read_bytes()).hexdigest()
    return f"{settings.match_threshold}:{decisions}:{code}"


def _cluster_base_matches(work: WorkArea, inputs: str) -> bool:
    """Whether this run's pairs are the last clustering's plus `PAIRS_TOUCHED`, and that
    clustering's output and base are whole and made with the same inputs."""
    names = (PAIRS_TOUCHED, CLUSTER_BASE_PAIRS, "clusters", "cluster_review")
    if not all(work.exists(name) for name in names):
        return False
    clustered = work.layer_metadata("clusters", "pairs")
    return (
        work.layer_metadata("clusters", "inputs") == inputs
        and clustered == work.identity(CLUSTER_BASE_PAIRS)
        and work.layer_metadata(PAIRS_TOUCHED, "base") == clustered
        and work.layer_metadata(PAIRS_TOUCHED, "pairs") == work.identity("pairs")
        and work.layer_metadata("cluster_review", "clusters")
        == work.layer_metadata("clusters", "version")
    )


# The records an incremental clustering clustered again or saw go (`cluster_incrementally`).
CLUSTERS_TOUCHED = "clusters_touched"
# The last identity assignment (a hard link), the next run's base.
IDENTITY_BASE = "identity_base__assignment"


def cluster_records(settings: Settings) -> dict[str, Any]:
    """Cluster the scored pairs. On a nightly run with the same settings and steward
    decisions as the last clustering, only the graph components that changed are clustered
    again (`cluster_incrementally`; the step at a million records with 1% changed, two runs
    alternating: 6.7 / 8.0 -> 2.3 / 2.5 s, clusters identical to clustering everything)."""
    work = work_area(settings)
    con = connect()
    # Only staged's record keys are read (a view).
    _load(con, work, "staged")
    # Steward decisions are read from the store itself: clustering runs before identity,
    # which is where the store's previous state is copied into the work area.
    decisions = load_steward_decisions(settings.store_url)
    con.register("decisions", decisions)
    con.execute(
        "CREATE TABLE must_link AS SELECT record_key_l, record_key_r FROM decisions "
        "WHERE decision = 'must_link'"
    )
    con.execute(
        "CREATE TABLE cannot_link AS SELECT record_key_l, record_key_r FROM decisions "
        "WHERE decision = 'cannot_link'"
    )
    inputs = _clustering_inputs(con, settings)
    incremental = not (settings.full_refresh or settings.full_relink) and _cluster_base_matches(
        work, inputs
    )
    constraints = {
        "threshold": settings.match_threshold,
        "must_link": "must_link",
        "cannot_link": "cannot_link",
    }
    if incremental:
        # The pairs are read twice here: a view (loading them as a table cost more).
        _load(con, work, "pairs")
        work.load(con, PAIRS_TOUCHED, "touched")
        work.load(con, CLUSTER_BASE_PAIRS, "base_pairs")
        work.load(con, "clusters", "base_clusters")
        work.load(con, "cluster_review", "base_review")
        counts = cluster_incrementally(
            con,
            "staged",
            "pairs",
            touched="touched",
            base_pairs="base_pairs",
            base_clusters="base_clusters",
            base_review="base_review",
            **constraints,
        )
    else:
        # The full clustering reads the pairs many times.
        _materialise(con, work, "pairs")
        counts = cluster(con, "staged", "pairs", **constraints)
    review = build_review_queue(
        con,
        low=settings.review_min_probability,
        high=settings.review_max_probability,
        decisions="decisions",
    )
    con.unregister("decisions")
    version = uuid.uuid4().hex
    base_version = work.layer_metadata("clusters", "version") or ""
    work.save(
        con,
        "clusters",
        metadata={
            "inputs": inputs,
            "version": version,
            "pairs": work.identity("pairs"),
        },
    )
    work.save(con, "cluster_review", metadata={"clusters": version})
    work.save(con, "review_pair")
    if incremental:
        # Which records' clusters may differ from the base clustering's (`assign_identity`).
        work.save(
            con, CLUSTERS_TOUCHED, metadata={"clusters": version, "base": base_version}
        )
    else:
        work.path(CLUSTERS_TOUCHED).unlink(missing_ok=True)
    con.close()
    work.keep("pairs", CLUSTER_BASE_PAIRS)
    return {
        **counts,
        "mode": "incremental" if incremental else "full",
        "steward_decisions_applied": decisions.num_rows,
        "review_pairs": review,
    }


def _identity_base_matches(work: WorkArea, store_url: str) -> bool:
    """Whether ids need assigning to the touched clusters only (`assign_ids_incrementally`):
    this run's clusters are the last assignment's clustering plus `CLUSTERS_TOUCHED`, and
    the store (still the snapshot this run took) holds that assignment's links."""
    if not all(work.exists(name) for name in (CLUSTERS_TOUCHED, IDENTITY_BASE, "clusters")):
        return False
    base_version = work.layer_metadata(IDENTITY_BASE, "version")
    return (
        work.layer_metadata(CLUSTERS_TOUCHED, "clusters")
        == work.layer_metadata("clusters", "version")
        and work.layer_metadata(CLUSTERS_TOUCHED, "base")
        == work.layer_metadata(IDENTITY_BASE, "clusters")
        and base_version is not None
        and snapshot_versions(work, store_url).get(XREF) == base_version
    )


def assign_identity(settings: Settings) -> dict[str, Any]:
    """Stable customer ids against the store's previous state."""
    work = work_area(settings)
    con = connect()
    previous = load_previous_state(con, settings.store_url, work)
    identity_inputs(con)
    if _identity_base_matches(work, settings.store_url):
        # Views: only the touched clusters are read whole.
        _load(con, work, "clusters")
        work.load(con, CLUSTERS_TOUCHED, "clusters_touched")
        work.load(con, IDENTITY_BASE, "base_assignment")
        result = assign_ids_incrementally(con, "clusters_touched", "base_assignment")
        mode = "incremental"
    else:
        _materialise(con, work, "clusters")
        result = assign_ids(con)
        mode = "full"
    clusters = work.layer_metadata("clusters", "version") or ""
    # Tagged with the clustering it assigns (the next run's base) and a version the store
    # remembers its links by.
    tags = {"clusters": clusters, "version": uuid.uuid4().hex}
    work.save(con, "assignment", metadata=tags)
    for name in ("id_changes", "redirects"):
        work.save(con, name)
    if mode == "incremental":
        # For the golden records and the activity: their bases are this base on a usual night
        # (kept as the next base only below).
        leads = {"assignment": work.identity("assignment"), "base": work.identity(IDENTITY_BASE)}
        work.save(con, ASSIGNMENT_CHANGES, metadata=leads)
    else:
        work.path(ASSIGNMENT_CHANGES).unlink(missing_ok=True)
    # For the publish: which records' customers changed, found here from the tables loaded.
    save_assignment_moves(con, work)
    con.close()
    work.keep("assignment", IDENTITY_BASE)
    return {
        "mode": mode,
        "previous_customers": previous["core.customer"],
        "customers": result.customers,
        "created": result.created,
        "merged_ids_retired": result.merged_ids_retired,
        "split_ids_created": result.split_ids_created,
        "unchanged": result.unchanged,
    }


def assignment_changes(con: duckdb.DuckDBPyConnection, work: WorkArea, base: str) -> str | None:
    """Load the identity stage's `ASSIGNMENT_CHANGES` as a view of that name if it leads from
    layer `base` (a stage's kept copy of the assignment it last used) to the current
    `assignment`; returns the view's name, or None (the stage then compares the two)."""
    tags = {"assignment": "assignment", "base": base}
    return ASSIGNMENT_CHANGES if work.load_if_tagged(con, ASSIGNMENT_CHANGES, tags) else None


def _keep_change(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    layers: tuple[str, ...],
    version: str,
    base: str,
) -> None:
    """Save a stage's change since its base (`layers`: upserts and removed keys, tables of
    `con`), tagged with the version of the layer the stage writes next and the base layer's
    version: the publish applies it only to a store holding that base."""
    tags = {"version": version, "base_version": work.layer_metadata(base, "version") or ""}
    for name in layers:
        work.save(con, name, metadata=tags)


def _drop_change(work: WorkArea, layers: tuple[str, ...]) -> None:
    """The stage built everything: remove the last run's change so that nobody applies it."""
    for name in layers:
        work.path(name).unlink(missing_ok=True)


def _keep_bases(work: WorkArea, bases: dict[str, str]) -> None:
    """Keep this run's layers as the next run's bases (hard links: layer -> base name)."""
    for layer, base in bases.items():
        work.keep(layer, base)


# The last run's golden records and what they were built from: view name -> (base layer,
# the layer it is kept from).
GOLDEN_BASE = {
    "base_staged": ("golden_base__staged", "staged"),
    "base_assignment": ("golden_base__assignment", "assignment"),
    "base_golden": ("golden_base__golden", "golden"),
    "base_provenance": ("golden_base__provenance", "provenance"),
    "base_source_load": ("golden_base__source_load", SOURCE_LOAD),
}


def golden_records(settings: Settings) -> dict[str, Any]:
    """Golden records and provenance: built again only for the customers whose records or
    record values changed since the last run (`build_golden_incrementally`), unless the
    survivorship rules changed or a full refresh/relink was asked for. The provenance's
    change is kept for the publish (`PROVENANCE_DELTA`), like the activity's."""
    work = work_area(settings)
    con = connect()
    config = load_survivorship()
    rules = rules_fingerprint(config)
    base_provenance = GOLDEN_BASE["base_provenance"][0]
    result = None
    if (
        not (settings.full_refresh or settings.full_relink)
        and work.layer_metadata(base_provenance, "rules") == rules
        and all(work.exists(layer) for layer, _ in GOLDEN_BASE.values())
    ):
        # Views: the incremental build reads a few columns of every record and all of them
        # only for the customers it builds again (loading staged whole cost more than that).
        _load(con, work, "staged", "assignment", SOURCE_LOAD)
        for view, (layer, _) in GOLDEN_BASE.items():
            work.load(con, layer, view)
        changes = staged_changes(con, work, GOLDEN_BASE["base_staged"][0])
        moves = assignment_changes(con, work, GOLDEN_BASE["base_assignment"][0])
        result = build_golden_incrementally(con, config, changes=changes, moves=moves)
    incremental = result is not None
    version = uuid.uuid4().hex
    if result is None:
        # The full build reads its inputs once per attribute group: tables.
        _materialise(con, work, "staged", "assignment")
        _load(con, work, SOURCE_LOAD)
        result = {"customers": build_golden(con, config)}
        _drop_change(work, PROVENANCE_DELTA)
    else:
        _keep_change(con, work, PROVENANCE_DELTA, version, base_provenance)
    tags = {"rules": rules, "version": version}
    if incremental:
        # The rebuilt customers' rows over the base's: the other 99% are not written again.
        base_golden = GOLDEN_BASE["base_golden"][0]
        changed_from = work.identity(base_golden)
        work.save_over(
            con, "golden", base=base_golden,
            drop="__g_affected", add="__g_golden", keys=["customer_id"],
        )
        # For the publish: the only customers whose golden record can differ from the
        # base's (the store's core.customer, if it holds what was built from that base).
        work.save(
            con, GOLDEN_CHANGES, "__g_affected",
            metadata={"golden": work.identity("golden"), "base": changed_from},
        )
        work.save_over(
            con, "provenance", base=base_provenance,
            drop="__g_affected", add="__g_provenance", keys=["customer_id"], metadata=tags,
        )
    else:
        work.save(con, "golden")
        work.path(GOLDEN_CHANGES).unlink(missing_ok=True)
        work.save(con, "provenance", metadata=tags)
    con.close()
    _keep_bases(work, {source: base for base, source in GOLDEN_BASE.values()})
    return {"mode": "incremental" if incremental else "full", **result}


# The last run's resolved activity and what it was resolved from: view name -> (base layer,
# the layer it is kept from).
ACTIVITY_BASE = {
    "base_resolved": ("activity_base__resolved", "resolved_activity"),
    "base_quarantine": ("activity_base__quarantine", "activity_quarantine"),
    "base_assignment": ("activity_base__assignment", "assignment"),
}
# The last run's mart, kept with them: built from the same run's assignment and activity.
CUSTOMER_360_BASE = ("activity_base__customer_360", "customer_360")
# The last run's customer months, for marts.kpi_monthly: built from the same activity.
CUSTOMER_MONTHS_BASE = ("activity_base__kpi_customer_month", CUSTOMER_MONTHS)


def customer_360(settings: Settings) -> dict[str, Any]:
    """Attach the activity to customers, then build the mart.

    When the activity layer is the one the last run resolved (no activity table changed,
    the usual night), only the activity of records whose customer changed is resolved again,
    and the change is kept for the publish (`ACTIVITY_DELTA`), which then rewrites only
    those rows of core.activity; and only the mart rows of the customers whose records,
    activity or golden profile changed are built again."""
    work = work_area(settings)
    con = connect()
    # The activity (the largest layer) and staged are read once: views, not copies.
    _load(con, work, "golden", "staged", "activity")
    _materialise(con, work, "assignment")
    inputs = work.layer_metadata("activity", "inputs") or ""
    base_resolved = ACTIVITY_BASE["base_resolved"][0]
    incremental = (
        not (settings.full_refresh or settings.full_relink)
        and bool(inputs)
        and work.layer_metadata(base_resolved, "inputs") == inputs
        and all(work.exists(layer) for layer, _ in ACTIVITY_BASE.values())
    )
    version = uuid.uuid4().hex
    activity_raw = partial(raw_records, work, "activity")
    if incremental:
        for view, (layer, _) in ACTIVITY_BASE.items():
            work.load(con, layer, view)
        moves = assignment_changes(con, work, ACTIVITY_BASE["base_assignment"][0])
        counts = resolve_activity_incrementally(con, activity_raw, moves)
        _keep_change(con, work, ACTIVITY_DELTA, version, base_resolved)
    else:
        counts = resolve_activity(con, activity_raw)
        _drop_change(work, ACTIVITY_DELTA)
    mart_incremental = incremental and work.exists(CUSTOMER_360_BASE[0])
    mart_base = work.identity(CUSTOMER_360_BASE[0]) if mart_incremental else ""
    if mart_incremental:
        work.load(con, CUSTOMER_360_BASE[0], "base_customer_360")
        # The golden records that can differ from those the base mart was built from.
        built_from = work.layer_metadata(CUSTOMER_360_BASE[0], "golden")
        golden_changes = load_golden_changes(con, work, built_from)
        rows = build_customer_360_incrementally(con, utcnow().date(), golden_changes)
    else:
        rows = build_customer_360(con, utcnow().date())
    months_incremental = incremental and work.exists(CUSTOMER_MONTHS_BASE[0])
    if months_incremental:
        work.load(con, CUSTOMER_MONTHS_BASE[0], "base_customer_months")
        build_customer_months_incrementally(con)
        # The affected customers' months over the base's.
        work.save_over(
            con, CUSTOMER_MONTHS, base=CUSTOMER_MONTHS_BASE[0], drop="__kpi_affected",
            add="__kpi_rebuilt", keys=["customer_id"],
        )
    else:
        build_customer_months(con)
        work.save(con, CUSTOMER_MONTHS)
    tags = {"inputs": inputs, "version": version}
    if incremental:
        # The affected keys' rows over the base's: the other 99% are not written again.
        work.save_over(
            con, "resolved_activity", base=base_resolved, drop="activity_removed",
            add="activity_upserts", keys=["source_system", "activity_name", "activity_id"],
            metadata=tags,
        )
    else:
        work.save(con, "resolved_activity", metadata=tags)
    work.save(con, "activity_quarantine")
    # Tied to the golden records it was built from (`golden_changes` next night).
    mart_tags = {"golden": work.identity("golden")}
    if mart_incremental:
        # The rows built again over the base's: the other 99% are not written again.
        work.save_over(
            con, "customer_360", base=CUSTOMER_360_BASE[0], drop=C360_DROP, add=C360_ADD,
            keys=["customer_id"], metadata=mart_tags,
        )
        # For the publish: only these customers' rows can differ from the base's.
        work.save(
            con, MART_CHANGES, C360_DROP,
            metadata={"customer_360": work.identity("customer_360"), "base": mart_base},
        )
    else:
        work.save(con, "customer_360", metadata=mart_tags)
        work.path(MART_CHANGES).unlink(missing_ok=True)
    con.close()
    _keep_bases(
        work,
        {
            source: base
            for base, source in (*ACTIVITY_BASE.values(), CUSTOMER_360_BASE, CUSTOMER_MONTHS_BASE)
        },
    )
    return {
        "customers": rows,
        "activity_mode": "incremental" if incremental else "full",
        "mart_mode": "incremental" if mart_incremental else "full",
        **counts,
    }


# What `reconciliation` returns (the reconciliation check's detail).
RECONCILIATION_FIGURES = ("extracted", "linked", "quarantined", "in_both", "missing")


def reconciliation(settings: Settings) -> dict[str, int]:
    """Records extracted = records linked to a customer + records quarantined."""
    work = work_area(settings)
    con = connect()
    _load(con, work, "mapped", "assignment", "quarantine", "staged")
    row = con.execute(
        """
        SELECT
          (SELECT count(*) FROM mapped),
          (SELECT count(*) FROM staged SEMI JOIN assignment USING (record_key)),
          (SELECT count(*) FROM (SELECT DISTINCT source_system, source_row_number
                                 FROM quarantine)),
          (SELECT count(*) FROM (
              SELECT source_system, source_row_number FROM staged
              INTERSECT SELECT source_system, source_row_number FROM quarantine))
        """
    ).fetchall()[0]
    con.close()
    extracted, linked, quarantined, both = (int(v) for v in row)
    figures = (extracted, linked, quarantined, both, extracted - linked - quarantined)
    return dict(zip(RECONCILIATION_FIGURES, figures, strict=True))


# The layers the publish reads (views in its connection).
PUBLISH_INPUTS = (
    "mapped",
    CUSTOMER_MONTHS,
    SOURCE_LOAD,
    "staged",
    "quarantine",
    "assignment",
    "golden",
    "provenance",
    "id_changes",
    "redirects",
    "customer_360",
    "resolved_activity",
    "activity_quarantine",
    "pairs",
    "activity",
    "review_pair",
)
# Where audit.sync_run.summary records them.
PUBLISH_INPUTS_KEY = "publish_inputs"


class AlreadyPublished(RuntimeError):
    """The store already holds a publish of exactly these layers."""


def publish_inputs(work: WorkArea) -> str:
    """Which files a publish is made from (size and modification time of each: a layer is
    replaced, never written in place, so a stage that ran again gives another value)."""
    digest = hashlib.sha256()
    for name in PUBLISH_INPUTS:
        digest.update(f"{name}={work.identity(name) if work.exists(name) else '-'}\0".encode())
    return digest.hexdigest()[:32]


def published_by(url: str, inputs: str) -> str | None:
    """The run whose publish the store holds that was made from `inputs`, if any: publishing
    the same layers twice (materializing publish_store alone after a successful run) would
    append that run's redirects and identity events again."""
    table = store.read_tables(url, ["audit.sync_run"]).get("audit.sync_run")
    if table is None or "summary" not in table.column_names:
        return None
    con = connect()
    try:
        con.register("sync_run", table)
        rows = con.execute(
            "SELECT run_id FROM sync_run WHERE CASE WHEN json_valid(CAST(summary AS VARCHAR)) "
            "THEN json_extract_string(CAST(summary AS VARCHAR), '$.' || ?) END = ? LIMIT 1",
            [PUBLISH_INPUTS_KEY, inputs],
        ).fetchall()
    finally:
        con.close()
    return rows[0][0] if rows else None


def publish(
    settings: Settings,
    run_id: str,
    check_results: list[dict[str, Any]] | None = None,
    verify: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> dict[str, Any]:
    """Write the run into the governed store, atomically.

    `verify(con)` sees the rows about to be written (`new.<schema>__<table>` in `con`) after
    they are built and before the store is touched: it may add rows (store check results, the
    run summary) and raises to stop the publish, leaving the store as it was."""
    work = work_area(settings)
    inputs = publish_inputs(work)
    earlier = published_by(settings.store_url, inputs)
    if earlier is not None:
        raise AlreadyPublished(
            f"publish of run {run_id} refused, the store is unchanged: it already holds "
            f"exactly these layers, published by run {earlier} (audit.sync_run). Publishing "
            "them again would record that run's merges and identity events twice. To publish "
            "new data, run the sync (or materialize the stages upstream of publish_store)."
        )
    # The source assessment reads only earlier stages' layers (its own DuckDB): it runs
    # beside the build of the new tables, whose single-threaded parts leave a core idle; so
    # does the copy of the store a patch starts from (`store.copy_ahead`).
    with (
        ThreadPoolExecutor(max_workers=2) as beside,
        _copied_ahead(beside, settings.store_url) as copying,
    ):
        assessing = beside.submit(source_assessment, work, run_id)
        con = connect()
        restore_previous(con, work)
        # Views, not tables: most layers are read once here, and copying a million rows of each
        # into memory first cost 19 s and gigabytes at 1M records.
        _load(con, work, *PUBLISH_INPUTS)
        pairs = _pairs_version(con, work)
        changed = changed_records(con, work, store_url=settings.store_url, pairs=pairs)
        customers_changed = changed_customers(con, work, store_url=settings.store_url)
        marts_changed = changed_marts(con, work, store_url=settings.store_url)
        _linked_pairs(con, whole=not changed)
        unmapped_rows = []
        for path in sorted((work.root / "raw").glob("*.unmapped.json")):
            unmapped_rows.append((path.name.split(".")[0], json.loads(path.read_text())))
        con.execute("CREATE TABLE unmapped (source_system VARCHAR, unmapped_columns VARCHAR[])")
        if unmapped_rows:
            con.executemany("INSERT INTO unmapped VALUES (?, ?)", unmapped_rows)
        con.execute(
            "CREATE TABLE check_results (check_name VARCHAR, asset VARCHAR, passed BOOLEAN, "
            "severity VARCHAR, detail JSON)"
        )
        for check in check_results or []:
            con.execute(
                "INSERT INTO check_results VALUES (?, ?, ?, ?, ?)",
                [
                    check["check_name"],
                    check["asset"],
                    check["passed"],
                    check["severity"],
                    json.dumps(check.get("detail", {})),
                ],
            )
        recon = _reconciliation_checked(check_results) or reconciliation(settings)
        summary = {"reconciliation": recon, PUBLISH_INPUTS_KEY: inputs}
        build_publish_tables(
            con,
            run_id=run_id,
            now=utcnow(),
            run_summary=summary,
            changed=changed,
            customers_changed=customers_changed,
            marts_changed=marts_changed,
            quality_counts=quality_counts(con, work),
        )
        if verify is not None:
            verify(con)
        loads = table_loads(
            con,
            work,
            run_id=run_id,
            store_url=settings.store_url,
            pairs=pairs,
            changed=changed,
            customers_changed=customers_changed,
            marts_changed=marts_changed,
        )
        # (`linked_pairs` stays: the evidence view reads it if the store asks for it whole.)
        con.execute("DROP TABLE all_quarantine")
        assessment = assessing.result()
        loads += extra_loads(work)
        # Last in the block: from here on, the store's publish removes the copy.
        ahead = copying.result()
    # A full refresh or relink also rebuilds the store file (compacts it).
    fresh = settings.full_relink or settings.full_refresh
    try:
        with store_lock(settings.store_url):
            written = store.publish(settings.store_url, loads, fresh=fresh, ahead=ahead)
    finally:
        # Open until now: the store may ask for a whole table `table_loads` left unwritten.
        con.close()
    return {
        "store_write": written,
        "tables": [load.table for load in loads],
        "source_assessment": assessment["markdown"],
        **recon,
    }


@contextmanager
def _copied_ahead(beside: ThreadPoolExecutor, url: str) -> Iterator[Future]:
    """`store.copy_ahead` in `beside`; its copy is removed if the publish stops before the
    store takes it (the pool waits for the copy to finish on leaving)."""
    copying = beside.submit(store.copy_ahead, url)
    try:
        yield copying
    except BaseException:
        copying.add_done_callback(lambda _: store.discard_ahead(url))
        raise


def _reconciliation_checked(check_results: list[dict[str, Any]] | None) -> dict | None:
    """The figures of the reconciliation check among the publish's check results (the
    identity step's of this run: `quality.outcome_in_run`; nothing they count changes
    until the publish), if they are all there."""
    for check in check_results or []:
        detail = check.get("detail") or {}
        if check["check_name"] == "reconciliation" and set(RECONCILIATION_FIGURES) <= set(detail):
            return dict(detail)
    return None


def _pairs_version(con: duckdb.DuckDBPyConnection, work: WorkArea) -> PairsVersion:
    """This run's pairs file and, when the linkage scored only what changed since the base
    it names, that base, with its `pairs_touched` loaded in `con`."""
    current = work.identity("pairs")
    touched = work.path(PAIRS_TOUCHED)
    if touched.exists() and work.layer_metadata(PAIRS_TOUCHED, "pairs") == current:
        work.load(con, PAIRS_TOUCHED)
        return PairsVersion(current=current, base=work.layer_metadata(PAIRS_TOUCHED, "base"))
    return PairsVersion(current=current)


# Layers other stages prepare for the publish: `publish_extra__<schema>__<table>.parquet`.
EXTRA_LAYERS = {
    "audit.source_watermark": "replace",  # the whole table, rewritten by stage_customers
    "audit.source_assessment": "append",  # this run's rows, written just before publish
}


def extra_loads(work: WorkArea) -> list[store.TableLoad]:
    loads = []
    for table, mode in EXTRA_LAYERS.items():
        path = work.path("publish_extra__" + table.replace(".", "__"))
        if path.exists():
            loads.append(store.TableLoad(table=table, path=path, mode=mode))
    return loads


def _linked_pairs(con: duckdb.DuckDBPyConnection, *, whole: bool) -> None:
    """`linked_pairs` (`linked_pairs_sql`): a table when the xref and the evidence are built
    whole from it, else a view (read only if the store asks for the whole evidence); and
    `all_quarantine`."""
    con.execute(
        """
        CREATE TABLE all_quarantine AS
        SELECT source_system, source_row_number, reason_code, source_record_id,
               reason_message, raw_record FROM quarantine
        UNION ALL
        SELECT source_system, source_row_number, reason_code, source_record_id,
               reason_message, raw_record FROM activity_quarantine
        """
    )
    kind = "TABLE" if whole else "VIEW"
    con.execute(f"CREATE {kind} linked_pairs AS {linked_pairs_sql(con)}")
