"""The source registry: which departmental systems exist and how their columns map to the
canonical customer and activity fields.

Loaded from `sources.yaml` (path from SOURCES_CONFIG) and validated up front, so that a typo
fails before any data moves, with a message that names the source, the key and the fix.
"""

from __future__ import annotations

import codecs
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
# How deletions at the source are seen (README "Onboarding a source system"):
#   snapshot    - every sync reads the whole table; keys absent from the read were deleted.
#   incremental - every sync reads rows whose watermark moved; deletions only through a
#                 soft-delete column (or at a full refresh).
READ_MODES: tuple[str, ...] = ("incremental", "snapshot")
DATE_FIELDS = {"birth_date", "occurred_at", "closed_at"}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# user:password@ in a URL; the password must be a ${VAR} so that no secret lives in the file.
_URL_PASSWORD_RE = re.compile(r"^[^:/]+(?:\+[^:/]+)?://[^/@:]*:([^/@]*)@")
# audit.source_watermark.source_system is VARCHAR(64) and activities are stored there as
# "<source>/<activity>".
_WATERMARK_KEY_MAX = 64
_TRUE_SPELLINGS = ("true", "t", "yes", "y", "on", "1")
_FALSE_SPELLINGS = ("false", "f", "no", "n", "off", "0")


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
class SoftDelete:
    """Rows whose `column` holds one of `values` (compared as trimmed, case-folded text) were
    deleted at the source: they leave the snapshot and their customer link is retired."""

    column: str
    values: tuple[str, ...] = ("1", "true", "t", "y", "yes")


@dataclass(frozen=True)
class ReadOptions:
    """How one table is read; activities inherit what they do not set from their source."""

    encoding: str | None = None  # a Python codec name, or "auto" (utf-8, else cp1252/latin-1)
    delimiter: str | None = None  # None: detected from the file
    quoting: str | None = None  # quote character, or "none"; None: '"'
    escape: str | None = None  # escape character inside quoted values; None: doubled quotes
    watermark: str | None = None
    soft_delete: SoftDelete | None = None
    mode: str | None = None  # None: incremental when a watermark is declared, else snapshot


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
    kind: str | None = None  # None: the source's kind
    url: str | None = None  # None: the source's url
    options: ReadOptions = field(default_factory=ReadOptions)


@dataclass(frozen=True)
class TableRead:
    """Everything extraction needs to read one source table (customers or an activity),
    with the activity's inheritance from its source already resolved."""

    source: str
    activity: str | None
    kind: str
    primary_key: str
    url: str | None
    table: str | None
    query: str | None
    path: str | None
    encoding: str | None
    delimiter: str | None
    quoting: str | None
    escape: str | None
    watermark: str | None
    soft_delete: SoftDelete | None
    mode: str
    mapped_columns: frozenset[str]

    @property
    def key(self) -> str:
        """Name of the table in the work area, the asset key and audit.source_watermark."""
        return self.source if self.activity is None else f"{self.source}/{self.activity}"

    @property
    def where(self) -> str:
        """How error messages name this table."""
        if self.activity is None:
            return f"source {self.source!r}"
        return f"source {self.source!r} activity {self.activity!r}"


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
    options: ReadOptions = field(default_factory=ReadOptions)

    @property
    def dialect(self) -> str:
        """The asset kind shown in Dagster: the SQL dialect, or the file format."""
        return dialect_of(self.kind, self.url)

    def activity(self, name: str) -> ActivitySpec:
        for activity in self.activities:
            if activity.name == name:
                return activity
        known = ", ".join(a.name for a in self.activities) or "none"
        raise KeyError(f"source {self.name!r} has no activity {name!r} (known: {known})")

    def read(self, activity: str | None = None) -> TableRead:
        """The resolved read of the customer table (activity None) or of one activity."""
        if activity is None:
            return _table_read(self, None, self.fields.values(), (self.primary_key,))
        spec = self.activity(activity)
        return _table_read(
            self, spec, spec.fields.values(), (spec.primary_key, spec.customer_key)
        )

    def reads(self) -> list[TableRead]:
        return [self.read()] + [self.read(a.name) for a in self.activities]


def dialect_of(kind: str, url: str | None) -> str:
    if kind != "sql" or not url:
        return kind
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return {"postgres": "postgres", "postgresql": "postgres", "mariadb": "mysql"}.get(
        scheme, scheme
    )


def _table_read(
    source: SourceSpec,
    activity: ActivitySpec | None,
    mappings: Any,
    keys: tuple[str, ...],
) -> TableRead:
    own = activity.options if activity else source.options
    inherited = source.options
    # File format options are the source's unless the activity sets its own; incremental
    # settings (watermark, soft delete, mode) describe one table and are never inherited.
    watermark = own.watermark
    used = set(keys)
    for mapping in mappings:
        used.update(mapping.columns)
    if watermark:
        used.add(watermark)
    if own.soft_delete:
        used.add(own.soft_delete.column)
    location = activity or source
    return TableRead(
        source=source.name,
        activity=activity.name if activity else None,
        kind=(activity.kind if activity and activity.kind else source.kind),
        primary_key=activity.primary_key if activity else source.primary_key,
        url=(activity.url if activity and activity.url else source.url),
        table=location.table,
        query=location.query,
        path=location.path,
        encoding=own.encoding or inherited.encoding,
        delimiter=own.delimiter or inherited.delimiter,
        quoting=own.quoting or inherited.quoting,
        escape=own.escape or inherited.escape,
        watermark=watermark,
        soft_delete=own.soft_delete,
        mode=own.mode or ("incremental" if watermark else "snapshot"),
        mapped_columns=frozenset(used),
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


def _one_char(value: Any, key: str, where: str, hint: str) -> str:
    text = str(value)
    if text in ("\\t", "tab"):
        text = "\t"
    if len(text) != 1:
        raise RegistryError(f"{where}: '{key}' must be one character ({hint}), got {value!r}")
    return text


def _parse_soft_delete(raw: Any, where: str) -> SoftDelete | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict) or not raw.get("column"):
        raise RegistryError(
            f"{where}: 'soft_delete' must name the flag column, e.g. "
            '{column: deleted, values: ["1", "true"]}'
        )
    unknown = set(raw) - {"column", "values"}
    if unknown:
        raise RegistryError(f"{where}.soft_delete: unknown key(s) {sorted(unknown)}")
    values = raw.get("values")
    if values is None:
        return SoftDelete(column=str(raw["column"]))
    if not isinstance(values, list) or not values:
        raise RegistryError(
            f"{where}.soft_delete: 'values' must be a non-empty list of the flag's "
            'deleted values, e.g. ["1", "true"]'
        )
    # The source's values are compared as trimmed lower-case text. YAML turns an unquoted
    # yes/true/on into a boolean, losing the spelling: a boolean stands for every usual one.
    texts: set[str] = set()
    for v in values:
        if isinstance(v, bool):
            texts.update(_TRUE_SPELLINGS if v else _FALSE_SPELLINGS)
        else:
            texts.add(str(v))
    return SoftDelete(
        column=str(raw["column"]), values=tuple(sorted({t.strip().lower() for t in texts}))
    )


def _parse_options(raw: dict[str, Any], kind: str, where: str) -> ReadOptions:
    encoding = raw.get("encoding")
    if encoding is not None:
        encoding = str(encoding)
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError as exc:
                raise RegistryError(
                    f"{where}: encoding {encoding!r} unknown; use a Python codec name such as "
                    "utf-8, latin-1, cp1252, or 'auto' to detect it"
                ) from exc
        if kind in ("sql", "parquet"):
            raise RegistryError(
                f"{where}: 'encoding' applies to csv and json files only; remove it "
                f"(a {kind} source declares its own encoding)"
            )
    delimiter = raw.get("delimiter")
    if delimiter is not None:
        if kind != "csv":
            raise RegistryError(f"{where}: 'delimiter' applies to csv sources only; remove it")
        delimiter = _one_char(delimiter, "delimiter", where, "e.g. ';', ',', '|' or tab")
    quoting = raw.get("quoting")
    if quoting is not None:
        if kind != "csv":
            raise RegistryError(f"{where}: 'quoting' applies to csv sources only; remove it")
        quoting = "none" if quoting in (False, "none") else _one_char(
            quoting, "quoting", where, "the quote character, or none"
        )
    escape = raw.get("escape")
    if escape is not None:
        escape = _one_char(escape, "escape", where, "e.g. a backslash")
    mode = raw.get("mode")
    watermark = raw.get("watermark")
    if mode is not None and mode not in READ_MODES:
        raise RegistryError(f"{where}: mode {mode!r} unknown; use one of {READ_MODES}")
    if mode == "incremental" and not watermark:
        raise RegistryError(
            f"{where}: mode 'incremental' needs 'watermark' (a column that grows when a row "
            "changes, e.g. updated_at); or use mode: snapshot"
        )
    return ReadOptions(
        encoding=encoding,
        delimiter=delimiter,
        quoting=quoting,
        escape=escape,
        watermark=str(watermark) if watermark else None,
        soft_delete=_parse_soft_delete(raw.get("soft_delete"), where),
        mode=mode,
    )


def _check_url(raw_url: str, where: str) -> None:
    """A password written into the registry would be stored in git: demand ${VAR}."""
    match = _URL_PASSWORD_RE.match(raw_url)
    if match and match.group(1) and "${" not in match.group(1):
        raise RegistryError(
            f"{where}: 'url' contains a password; never store credentials in the registry: "
            "write it as ${SOME_PASSWORD_VAR} (or the whole URL as ${CRM_URL}) and set the "
            "variable in the environment"
        )


def _expand_optional(raw: dict[str, Any], key: str, env: dict[str, str], where: str) -> str | None:
    value = raw.get(key)
    return expand_env(str(value), env, where) if value not in (None, "") else None


def _check_location(raw: dict[str, Any], kind: str, where: str) -> None:
    if kind == "sql":
        if not raw.get("table") and not raw.get("query"):
            raise RegistryError(f"{where}: a sql source needs 'table' or 'query'")
    elif not raw.get("path"):
        raise RegistryError(f"{where}: a {kind} source needs 'path' (a file or a glob)")


ACTIVITY_KEYS = {
    "name",
    "type",
    "primary_key",
    "customer_key",
    "fields",
    "table",
    "query",
    "path",
    "kind",
    "url",
    "encoding",
    "delimiter",
    "quoting",
    "escape",
    "watermark",
    "soft_delete",
    "mode",
}


def _parse_activity(raw: Any, source: str, kind: str, env: dict[str, str]) -> ActivitySpec:
    where = f"source {source!r} activity {raw.get('name', '?') if isinstance(raw, dict) else '?'}"
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: each activity must be a mapping")
    name = str(_require(raw, "name", where, "a short lower_case name, e.g. orders"))
    if not _NAME_RE.match(name):
        raise RegistryError(f"{where}: name must be lower_case letters, digits and _")
    unknown = set(raw) - ACTIVITY_KEYS
    if unknown:
        allowed = ", ".join(sorted(ACTIVITY_KEYS))
        raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {allowed}")
    act_type = _require(raw, "type", where, f"one of {', '.join(ACTIVITY_TYPES)}")
    if act_type not in ACTIVITY_TYPES:
        raise RegistryError(f"{where}: type {act_type!r} unknown; use one of {ACTIVITY_TYPES}")
    own_kind = raw.get("kind")
    if own_kind is not None and own_kind not in SOURCE_KINDS:
        raise RegistryError(f"{where}: kind {own_kind!r} unknown; use one of {SOURCE_KINDS}")
    effective_kind = own_kind or kind
    _check_location(raw, effective_kind, where)
    if len(f"{source}/{name}") > _WATERMARK_KEY_MAX:
        raise RegistryError(
            f"{where}: '<source>/<activity>' must fit in {_WATERMARK_KEY_MAX} characters "
            "(it keys audit.source_watermark); shorten the name"
        )
    if raw.get("url"):
        _check_url(str(raw["url"]), where)
    return ActivitySpec(
        name=name,
        type=act_type,
        primary_key=str(_require(raw, "primary_key", where, "the activity's own key column")),
        customer_key=str(
            _require(raw, "customer_key", where, "the column holding the customer's key")
        ),
        fields=_parse_fields(raw.get("fields"), ACTIVITY_FIELDS, where),
        table=_expand_optional(raw, "table", env, where),
        query=_expand_optional(raw, "query", env, where),
        path=_expand_optional(raw, "path", env, where),
        kind=own_kind,
        url=_expand_optional(raw, "url", env, where),
        options=_parse_options(raw, effective_kind, where),
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
        "quoting",
        "escape",
        "soft_delete",
        "mode",
    }
    unknown = set(raw) - known_keys
    if unknown:
        raise RegistryError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(known_keys))}"
        )
    if raw.get("url"):
        _check_url(str(raw["url"]), where)
    options = _parse_options(raw, kind, where)
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
        url=_expand_optional(raw, "url", env, where),
        table=_expand_optional(raw, "table", env, where),
        query=_expand_optional(raw, "query", env, where),
        path=_expand_optional(raw, "path", env, where),
        encoding=options.encoding,
        delimiter=options.delimiter,
        watermark=options.watermark,
        defaults={str(k): str(v) for k, v in defaults.items()},
        activities=parsed_activities,
        options=options,
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
        # libyaml's loader where PyYAML has it: every stage loads the registry, and the
        # pure-Python parser took ~0.3 s for this 9 KB file beside busy extract lanes (py-spy).
        document = yaml.load(  # noqa: S506 - a safe loader either way
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
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
