"""The demo source systems: deterministic, readable as registered, consistent with ground truth."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sources.demo import SYSTEMS, generate

REGISTRY = Path(__file__).resolve().parents[2] / "sources" / "sources.yaml"
N = 200
SEED = 7
NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    counts = generate(out, customers=N, seed=SEED)
    return out, counts


@pytest.fixture(scope="module")
def registry() -> list[dict]:
    return yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["sources"]


@pytest.fixture(scope="module")
def truth(demo: tuple[Path, dict[str, int]]) -> pd.DataFrame:
    return pd.read_csv(demo[0] / "ground_truth.csv", dtype=str, keep_default_na=False)


def _expand(text: str, data_dir: Path) -> str:
    """${VAR} / ${VAR:-default}, with DEMO_DATA_DIR pointing at the generated demo."""
    env = dict(os.environ, DEMO_DATA_DIR=str(data_dir))

    def sub(m: re.Match) -> str:
        return env.get(m.group(1)) or (m.group(3) or "")

    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", sub, text)


def _read(spec: dict, data_dir: Path, table: str | None = None) -> pd.DataFrame:
    """Read a registry entry (source or activity) with its declared kind and options."""
    kind = spec.get("kind")
    if "url" in spec or table is not None:
        url = _expand(spec["url"], data_dir)
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            name = table or spec["table"]
            return pd.read_sql(f'SELECT * FROM "{name}"', con)  # noqa: S608
        finally:
            con.close()
    path = Path(_expand(spec["path"], data_dir))
    if kind == "csv":
        return pd.read_csv(path, sep=spec.get("delimiter", ","),
                           encoding=spec.get("encoding", "utf-8"), dtype=str)
    if kind == "json":
        return pd.read_json(path, lines=path.suffix == ".jsonl", dtype=False,
                            convert_dates=False)
    return pq.read_table(path).to_pandas()


def _inherit(source: dict, activity: dict) -> dict:
    """An activity is read like its source: same kind, url, encoding and delimiter."""
    inherited = {k: source[k] for k in ("kind", "url", "encoding", "delimiter") if k in source}
    return inherited | activity


def _referenced_columns(fields: dict) -> set[str]:
    cols: set[str] = set()
    for value in fields.values():
        if isinstance(value, dict):
            if "column" in value:
                cols.add(value["column"])
            if "template" in value:
                cols |= set(re.findall(r"\{([^}]+)\}", value["template"]))
        elif "{" in value:
            cols |= set(re.findall(r"\{([^}]+)\}", value))
        else:
            cols.add(value)
    return cols


def _key_text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if pd.isna(v) else str(v))


def test_same_seed_gives_byte_identical_files(tmp_path: Path,
                                              demo: tuple[Path, dict[str, int]]) -> None:
    again = tmp_path / "again"
    generate(again, customers=N, seed=SEED)
    first = {p.relative_to(demo[0]): p.read_bytes() for p in demo[0].rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_other_seed_gives_other_data(tmp_path: Path, demo: tuple[Path, dict[str, int]]) -> None:
    generate(tmp_path / "other", customers=N, seed=SEED + 1)
    a = (demo[0] / "ground_truth.csv").read_bytes()
    b = (tmp_path / "other" / "ground_truth.csv").read_bytes()
    assert a != b


def test_output_is_complete_and_marked(demo: tuple[Path, dict[str, int]]) -> None:
    out, counts = demo
    assert (out / "_SUCCESS").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == counts
    for rel, meta in manifest["files"].items():
        assert (out / rel).stat().st_size == meta["bytes"]
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_regenerating_replaces_the_previous_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    generate(out, customers=40, seed=1)
    (out / "stray.txt").write_text("left over")
    generate(out, customers=40, seed=1)
    assert not (out / "stray.txt").exists()
    assert (out / "_SUCCESS").exists()


def test_registry_loads_with_the_pipeline_loader(demo: tuple[Path, dict[str, int]]) -> None:
    registry = pytest.importorskip("sources.registry")
    loaded = registry.load_registry(REGISTRY, env={"DEMO_DATA_DIR": str(demo[0])})
    assert [s.name for s in loaded.sources] == list(SYSTEMS)


def test_registry_has_every_system_with_required_keys(registry: list[dict]) -> None:
    assert [s["name"] for s in registry] == list(SYSTEMS)
    for s in registry:
        assert s["kind"] in {"csv", "json", "parquet", "sql"}
        assert {"department", "owner", "primary_key", "fields"} <= s.keys()
        assert ("url" in s) == (s["kind"] == "sql")
        assert s["owner"].startswith("team:") or "@" in s["owner"]


def test_every_system_is_readable_and_maps_only_existing_columns(
        demo: tuple[Path, dict[str, int]], registry: list[dict]) -> None:
    out, counts = demo
    for s in registry:
        df = _read(s, out)
        assert len(df) == counts[s["name"]], s["name"]
        columns = set(df.columns)
        used = _referenced_columns(s["fields"]) | {s["primary_key"]}
        if s.get("watermark"):
            used.add(s["watermark"])
        assert used <= columns, (s["name"], used - columns)
        for act in s.get("activities", []):
            adf = _read(_inherit(s, act), out,
                        act.get("table"))
            assert len(adf) == counts[f"{s['name']}.{act['name']}"]
            used = _referenced_columns(act["fields"]) | {act["primary_key"], act["customer_key"]}
            assert used <= set(adf.columns), (act["name"], used - set(adf.columns))


def test_value_mappings_cover_every_raw_value(demo: tuple[Path, dict[str, int]],
                                              registry: list[dict]) -> None:
    out = demo[0]
    for s in registry:
        specs = [(s, s["fields"], None)] + [
            (_inherit(s, a), a["fields"], a.get("table"))
            for a in s.get("activities", [])]
        for spec, fields, table in specs:
            df = _read(spec, out, table)
            for name, f in fields.items():
                if isinstance(f, dict) and "values" in f:
                    raw = set(df[f["column"]].dropna().astype(str))
                    assert raw <= set(map(str, f["values"])), (s["name"], name, raw)


def test_canonical_activity_statuses(registry: list[dict]) -> None:
    allowed = {"order": {"completed", "cancelled", "open"}, "invoice": {"paid", "open", "overdue"},
               "ticket": {"open", "closed"}, "shipment": {"delivered", "in_transit", "returned"}}
    for s in registry:
        for act in s.get("activities", []):
            status = act["fields"].get("status")
            if act["type"] in allowed:
                assert set(status["values"].values()) <= allowed[act["type"]]


def test_latin1_csv_is_really_latin1(demo: tuple[Path, dict[str, int]]) -> None:
    raw = (demo[0] / "logistics" / "consignees.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("latin-1")
    assert text.splitlines()[0].count(";") >= 10
    assert any(c in text for c in "ñÑáéíóúº")


def test_every_source_record_is_in_ground_truth(demo: tuple[Path, dict[str, int]],
                                                registry: list[dict],
                                                truth: pd.DataFrame) -> None:
    out = demo[0]
    for s in registry:
        df = _read(s, out)
        ids = _key_text(df[s["primary_key"]])
        missing = ids.isna()
        # A row without a key is known to ground truth by its 1-based row position.
        ids[missing] = [f"#row{i + 1}" for i in df.index[missing]]
        gt = truth[truth["source_system"] == s["name"]]
        assert set(ids) == set(gt["source_record_id"]), s["name"]
        assert gt["source_record_id"].is_unique


def test_every_customer_is_somewhere_and_systems_overlap(truth: pd.DataFrame) -> None:
    real = truth[truth["entity_id"] != ""]
    assert real["entity_id"].nunique() == N
    per_entity = real.groupby("entity_id")["source_system"].nunique()
    assert per_entity.mean() > 2.0
    share = real.groupby("source_system")["entity_id"].nunique() / N
    assert 0.55 < share["crm"] < 0.85 and 0.3 < share["servicedesk"] < 0.55
    assert set(real["party_type"]) == {"person", "company"}
    assert 0.15 < (real.drop_duplicates("entity_id")["party_type"] == "company").mean() < 0.35
    in_source_dups = real.groupby(["source_system", "entity_id"]).size()
    assert (in_source_dups == 2).sum() >= 3


def test_activities_reference_existing_customer_keys(demo: tuple[Path, dict[str, int]],
                                                     registry: list[dict]) -> None:
    out = demo[0]
    for s in registry:
        keys = set(_key_text(_read(s, out)[s["primary_key"]]).dropna())
        for act in s.get("activities", []):
            adf = _read(_inherit(s, act), out,
                        act.get("table"))
            assert len(adf) > 0
            refs = set(_key_text(adf[act["customer_key"]]))
            assert refs <= keys, (s["name"], act["name"], list(refs - keys)[:5])
            assert adf[act["primary_key"]].is_unique


def test_activity_dates_fall_in_the_24_months_before_the_anchor(
        demo: tuple[Path, dict[str, int]], registry: list[dict]) -> None:
    out = demo[0]
    for s in registry:
        for act in s.get("activities", []):
            adf = _read(_inherit(s, act), out,
                        act.get("table"))
            f = act["fields"]["occurred_at"]
            if isinstance(f, dict):
                when = pd.to_datetime(adf[f["column"]], format=f["format"])
            else:
                when = pd.to_datetime(adf[f])
            assert when.min() >= pd.Timestamp("2024-10-30"), act["name"]
            assert when.max() <= pd.Timestamp("2026-11-01"), act["name"]


def test_deliberate_bad_rows_exist(demo: tuple[Path, dict[str, int]], registry: list[dict],
                                   truth: pd.DataFrame) -> None:
    out = demo[0]
    defects = truth[truth["defect"] != ""]
    assert set(defects["defect"]) == {"no_identifying_fields", "duplicate_primary_key",
                                      "missing_primary_key", "impossible_birth_date"}
    by_name = {s["name"]: s for s in registry}

    crm = _read(by_name["crm"], out)
    identity = ["first_name", "last_name", "company", "email", "phone", "street", "postal_code",
                "birth_date", "vat_number"]
    assert (crm[identity].isna().all(axis=1)).sum() == 1
    assert (crm["birth_date"] == "1980-02-31").sum() == 1

    billing = _read(by_name["billing"], out)
    assert (billing["fecha_nacimiento"] == "31/02/1980").sum() == 1

    desk = _read(by_name["servicedesk"], out)
    assert desk["id"].duplicated().sum() == 1

    logistics = _read(by_name["logistics"], out)
    assert logistics["CONSIGNEE_ID"].isna().sum() == 1
    assert logistics["CONSIGNEE_ID"].dropna().duplicated().sum() == 1

    marketing = _read(by_name["marketing"], out)
    assert marketing[["email", "first_name", "last_name", "company"]].isna().all(axis=1).sum() == 1


def test_tax_ids_are_mostly_valid_and_variously_formatted(
        demo: tuple[Path, dict[str, int]], registry: list[dict]) -> None:
    billing = _read(next(s for s in registry if s["name"] == "billing"), demo[0])
    raw = billing["nif"].dropna()
    assert raw.str.contains(r"[-. ]").any() and raw.str.startswith("ES").any()
    clean = raw.str.upper().str.replace(r"[-. ]", "", regex=True).str.removeprefix("ES")
    nif = clean[clean.str.fullmatch(r"\d{8}[A-Z]")]
    valid = nif.map(lambda t: NIF_LETTERS[int(t[:8]) % 23] == t[8])
    assert len(nif) > 50 and 0.9 < valid.mean() <= 1.0


def test_noise_is_present_but_identifiers_mostly_survive(
        demo: tuple[Path, dict[str, int]], registry: list[dict]) -> None:
    by_name = {s["name"]: _read(s, demo[0]) for s in registry}
    crm, desk = by_name["crm"], by_name["servicedesk"]
    assert crm["phone"].str.startswith("+34 ").any()
    assert desk["phone"].dropna().str.startswith("0034-").any()
    assert by_name["billing"]["telefono"].dropna().str.fullmatch(r"\d{9,11}").mean() > 0.8
    assert set(by_name["billing"]["pais"]) >= {"España"}
    # Strong identifiers: e-mail, phone, tax id, or a name together with a birth date/postcode.
    strong = {
        "crm": (["email", "phone", "vat_number"], ["last_name", "company"],
                ["birth_date", "postal_code"]),
        "billing": (["nif", "email", "telefono"], ["apellidos", "razon_social"],
                    ["fecha_nacimiento", "cp"]),
        "servicedesk": (["email", "phone"], ["name", "organization"], []),
        "logistics": (["PHONE", "EMAIL"], ["SURNAME", "COMPANY"], ["ZIP"]),
        "marketing": (["email", "mobile"], ["last_name", "company"], ["postcode"]),
    }
    for name, (direct, names, anchors) in strong.items():
        df = by_name[name]
        score = df[direct].notna().sum(axis=1)
        if anchors:
            score += df[names].notna().any(axis=1) & df[anchors].notna().any(axis=1)
        assert (score >= 1).mean() > 0.97, name
        assert (score >= 2).mean() > 0.5, name


def test_counts_match_what_was_written(demo: tuple[Path, dict[str, int]]) -> None:
    counts = demo[1]
    assert counts["entities"] == N
    assert counts["records"] == sum(counts[s] for s in SYSTEMS)
    assert 2.2 * N < counts["records"] < 3.2 * N


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path / "tiny", customers=5)


def test_target_urls_for_the_sql_systems() -> None:
    from sources.demo.servers import parse_targets

    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    my = "mysql+pymysql://root@127.0.0.1:3306/test"
    assert parse_targets([f"crm={pg}", f"billing={my}"]) == {"crm": pg, "billing": my}
    assert parse_targets([pg]) == {"crm": pg, "billing": pg}
    with pytest.raises(ValueError, match="crm=URL"):
        parse_targets(["crm=nonsense"])


def test_servers_registry_variant_matches_the_demo_registry(monkeypatch) -> None:
    from sources.registry import load_registry

    demo = load_registry(REGISTRY, env={})
    servers = load_registry(REGISTRY.with_name("sources.servers.yaml"), env={})
    assert [s.name for s in servers.sources] == [s.name for s in demo.sources]
    for a, b in zip(demo.sources, servers.sources, strict=True):
        assert a.fields == b.fields and a.primary_key == b.primary_key
    assert servers.get("crm").dialect == "postgres"
    assert servers.get("billing").dialect == "mysql"
    assert servers.get("billing").read("invoices").table == "demo.invoices"


def test_make_demo_regenerates_only_a_stale_demo(tmp_path: Path) -> None:
    import json

    from sources.demo import is_current
    from sources.demo.__main__ import main

    out = tmp_path / "demo"
    assert not is_current(out, 20, 42)
    assert main(["--out", str(out), "--customers", "20", "--if-stale"]) == 0
    assert is_current(out, 20, 42)
    assert not is_current(out, 21, 42) and not is_current(out, 20, 7)
    stamp = (out / "_SUCCESS").stat().st_mtime_ns
    assert main(["--out", str(out), "--customers", "20", "--if-stale"]) == 0
    assert (out / "_SUCCESS").stat().st_mtime_ns == stamp  # current: left alone
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["generator_version"] -= 1  # written by an older generator
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert not is_current(out, 20, 42)
    assert main(["--out", str(out), "--customers", "20", "--if-stale"]) == 0
    assert is_current(out, 20, 42)
