"""The source registry: which departmental systems exist and how their columns map to the
canonical customer and activity fields.

Loaded from `sources.yaml` (path from SOURCES_CONFIG) and validated up front, so that a typo
fails before any data moves, with a message that names the source, the key and the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CANONICAL_FIELDS: tuple[str, ...] = (
    "party_type",
    "given_name",
    "family_name",
    "full_name",
    "company_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "region",
    "country",
    "birth_date",
    "tax_id",
)
ACTIVITY_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "amount",
    "cost",
    "currency",
    "status",
    "satisfaction",
    "open_amount",
    "closed_at",
)
ACTIVITY_TYPES: tuple[str, ...] = (
    "order",
    "invoice",
    "payment",
    "ticket",
    "shipment",
    "campaign_response",
)
SOURCE_KINDS: tuple[str, ...] = ("csv", "json", "parquet", "sql")
DATE_FIELDS = {"birth_date", "occurred_at", "closed_at"}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class RegistryError(ValueError):
    """The source registry is invalid; the message says where and how to fix it."""


@dataclass(frozen=True)
class FieldMapping:
    """How one canonical field is read: a column, or a template over several columns."""

    canonical: str
    column: str | None = None
    template: str | None = None
    format: str | None = None
    values: dict[str, str] | None = None

    @property
    def columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        return _PLACEHOLDER_RE.findall(self.template or "")


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    type: str
    primary_key: str
    customer_key: str
    fields: dict[str, FieldMapping]
    table: str | None = None
    query: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str
    primary_key: str
    fields: dict[str, FieldMapping]
    department: str = "default"
    owner: str | None = None
    description: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    path: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    watermark: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    activities: tuple[ActivitySpec, ...] = ()

    @property
    def dialect(self) -> str:
        """The asset kind shown in Dagster: the SQL dialect, or the file format."""
        if self.kind != "sql" or not self.url:
            return self.kind
        scheme = self.url.split(":", 1)[0].split("+", 1)[0]
        return {"postgres": "postgres", "postgresql": "postgres", "mariadb": "mysql"}.get(
            scheme, scheme
        )


@dataclass(frozen=True)
class Registry:
    sources: tuple[SourceSpec, ...]
    path: Path | None = None

    def get(self, name: str) -> SourceSpec:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise KeyError(f"no source named {name!r} in the registry (known: {known})")


def expand_env(value: str, env: dict[str, str], where: str) -> str:
    """Expand ${VAR} and ${VAR:-default}; an unset variable without default is an error."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        raise RegistryError(
            f"{where}: environment variable {name} is not set; export it or write "
            f"${{{name}:-default}} to give a default"
        )

    return _ENV_RE.sub(replace, value)


def _parse_field(canonical: str, spec: Any, where: str) -> FieldMapping:
    if isinstance(spec, str):
        spec = {"template": spec} if "{" in spec else {"column": spec}
    if not isinstance(spec, dict):
        raise RegistryError(
            f"{where}.{canonical}: expected a column name, a '{{col}} {{col}}' template or a "
            f"mapping with column/template, got {type(spec).__name__}"
        )
    unknown = set(spec) - {"column", "template", "format", "values"}
    if unknown:
        raise RegistryError(
            f"{where}.{canonical}: unknown key(s) {sorted(unknown)}; "
            "allowed: column, template, format, values"
        )
    column, template = spec.get("column"), spec.get("template")
    if (column is None) == (template is None):
        raise RegistryError(f"{where}.{canonical}: give exactly one of 'column' or 'template'")
    if template is not None and not _PLACEHOLDER_RE.search(str(template)):
        raise RegistryError(
            f"{where}.{canonical}: template {template!r} names no column; write columns as "
            "{column_name}"
        )
    if spec.get("format") and canonical not in DATE_FIELDS:
        raise RegistryError(
            f"{where}.{canonical}: 'format' applies only to date fields {sorted(DATE_FIELDS)}"
        )
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        raise RegistryError(f"{where}.{canonical}: 'values' must map source values to canonical")
    return FieldMapping(
        canonical=canonical,
        column=str(column) if column is not None else None,
        template=str(template) if template is not None else None,
        format=spec.get("format"),
        values={str(k): str(v) for k, v in values.items()} if values else None,
    )


def _parse_fields(raw: Any, allowed: tuple[str, ...], where: str) -> dict[str, FieldMapping]:
    if not isinstance(raw, dict) or not raw:
        raise RegistryError(f"{where}: 'fields' must map canonical fields to source columns")
    unknown = [name for name in raw if name not in allowed]
    if unknown:
        raise RegistryError(
            f"{where}.fields: unknown canonical field(s) {unknown}; allowed: {', '.join(allowed)}"
        )
    return {name: _parse_field(name, spec, f"{where}.fields") for name, spec in raw.items()}


def _require(raw: dict[str, Any], key: str, where: str, hint: str) -> Any:
    value = raw.get(key)
    if value in (None, ""):
        raise RegistryError(f"{where}: missing required key '{key}' ({hint})")
    return value


def _check_location(raw: dict[str, Any], kind: str, where: str) -> None:
    if kind == "sql":
        if not raw.get("table") and not raw.get("query"):
            raise RegistryError(f"{where}: a sql source needs 'table' or 'query'")
    elif not raw.get("path"):
        raise RegistryError(f"{where}: a {kind} source needs 'path' (a file or a glob)")


def _parse_activity(raw: Any, source: str, kind: str, env: dict[str, str]) -> ActivitySpec:
    where = f"source {source!r} activity {raw.get('name', '?') if isinstance(raw, dict) else '?'}"
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: each activity must be a mapping")
    name = str(_require(raw, "name", where, "a short lower_case name, e.g. orders"))
    if not _NAME_RE.match(name):
        raise RegistryError(f"{where}: name must be lower_case letters, digits and _")
    act_type = _require(raw, "type", where, f"one of {', '.join(ACTIVITY_TYPES)}")
    if act_type not in ACTIVITY_TYPES:
        raise RegistryError(f"{where}: type {act_type!r} unknown; use one of {ACTIVITY_TYPES}")
    _check_location(raw, kind, where)
    path = raw.get("path")
    return ActivitySpec(
        name=name,
        type=act_type,
        primary_key=str(_require(raw, "primary_key", where, "the activity's own key column")),
        customer_key=str(
            _require(raw, "customer_key", where, "the column holding the customer's key")
        ),
        fields=_parse_fields(raw.get("fields"), ACTIVITY_FIELDS, where),
        table=raw.get("table"),
        query=raw.get("query"),
        path=expand_env(str(path), env, where) if path else None,
    )


def parse_source(raw: Any, env: dict[str, str]) -> SourceSpec:
    if not isinstance(raw, dict):
        raise RegistryError("each entry under 'sources' must be a mapping")
    where = f"source {raw.get('name', '?')!r}"
    name = str(_require(raw, "name", where, "it becomes source_system, e.g. billing"))
    if not _NAME_RE.match(name):
        raise RegistryError(f"{where}: name must be lower_case letters, digits and _")
    kind = _require(raw, "kind", where, f"one of {', '.join(SOURCE_KINDS)}")
    if kind not in SOURCE_KINDS:
        raise RegistryError(f"{where}: kind {kind!r} unknown; use one of {SOURCE_KINDS}")
    _check_location(raw, kind, where)
    if kind == "sql" and not raw.get("url"):
        raise RegistryError(f"{where}: a sql source needs 'url' (a SQLAlchemy URL)")
    known_keys = {
        "name",
        "kind",
        "primary_key",
        "fields",
        "department",
        "owner",
        "description",
        "url",
        "table",
        "query",
        "path",
        "encoding",
        "delimiter",
        "watermark",
        "defaults",
        "activities",
    }
    unknown = set(raw) - known_keys
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}")
    defaults = raw.get("defaults") or {}
    bad_defaults = [k for k in defaults if k not in CANONICAL_FIELDS]
    if bad_defaults:
        raise RegistryError(f"{where}.defaults: {bad_defaults} are not canonical fields")
    activities = raw.get("activities") or []
    if not isinstance(activities, list):
        raise RegistryError(f"{where}: 'activities' must be a list")
    parsed_activities = tuple(_parse_activity(a, name, kind, env) for a in activities)
    names = [a.name for a in parsed_activities]
    if len(names) != len(set(names)):
        raise RegistryError(f"{where}: activity names must be unique, got {names}")
    department = str(raw.get("department") or "default")
    if not _NAME_RE.match(department):
        raise RegistryError(f"{where}: department must be lower_case letters, digits and _")
    return SourceSpec(
        name=name,
        kind=kind,
        primary_key=str(_require(raw, "primary_key", where, "the column that identifies a row")),
        fields=_parse_fields(raw.get("fields"), CANONICAL_FIELDS, where),
        department=department,
        owner=raw.get("owner"),
        description=raw.get("description"),
        url=expand_env(str(raw["url"]), env, where) if raw.get("url") else None,
        table=raw.get("table"),
        query=raw.get("query"),
        path=expand_env(str(raw["path"]), env, where) if raw.get("path") else None,
        encoding=raw.get("encoding"),
        delimiter=raw.get("delimiter"),
        watermark=raw.get("watermark"),
        defaults={str(k): str(v) for k, v in defaults.items()},
        activities=parsed_activities,
    )


def load_registry(path: Path | str, env: dict[str, str] | None = None) -> Registry:
    """Load and validate the registry; raises RegistryError naming the bad entry."""
    path = Path(path)
    env = dict(os.environ) if env is None else env
    if not path.exists():
        raise RegistryError(
            f"source registry {path} not found; set SOURCES_CONFIG to its path "
            "(default sources/sources.yaml)"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"source registry {path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise RegistryError(f"source registry {path}: expected a top-level 'sources:' list")
    sources = tuple(parse_source(raw, env) for raw in document["sources"])
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RegistryError(f"source registry {path}: duplicate source name(s) {duplicates}")
    if not sources:
        raise RegistryError(f"source registry {path}: no sources declared")
    return Registry(sources=sources, path=path)
