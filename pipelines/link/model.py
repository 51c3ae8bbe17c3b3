"""The one shipped Splink model for customer records.

The model is written in Python (a `SettingsCreator`), never loaded from a saved JSON:
a JSON saved on DuckDB holds DuckDB SQL and would not load on Spark, and a deployment's
sources decide which canonical columns exist. `build_model` therefore takes the set of
columns that are present *and* populated in `staged` and leaves the others out, so one
definition serves every deployment without per-dataset code paths.

Custom SQL levels are written in DuckDB SQL and tagged `base_dialect_str="duckdb"` so
Splink translates them with sqlglot when the Spark backend arrives.

Every level carries a prior m/u probability. Training (see `linkage.py`) overwrites
them where the data allows; on tiny inputs, where u-sampling and EM are meaningless,
the priors are the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from splink import SettingsCreator
from splink.blocking_rule_library import CustomRule
from splink.comparison_level_library import CustomLevel, ElseLevel
from splink.comparison_library import CustomComparison
from splink.internals.blocking_rule_creator import BlockingRuleCreator

DIALECT = "duckdb"
# The backend the model is being built for (set by `build_model`): a few function names
# differ between DuckDB and Splink's Spark UDFs.
_TARGET_DIALECT: ContextVar[str] = ContextVar("target_dialect", default=DIALECT)

#: Columns of `staged` the model can use (see docs/architecture.md).
MATCH_COLUMNS: tuple[str, ...] = (
    "given_name_key",
    "family_name_key",
    "full_name_key",
    "company_name_key",
    "email_key",
    "phone",
    "birth_date",
    "postcode_key",
    "address_key",
    "city_key",
    "tax_id",
)

#: Always required: the id and the party type that keeps persons and companies apart.
REQUIRED_COLUMNS: tuple[str, ...] = ("record_key", "party_type")

# Persons and companies must never be compared, so every candidate-generating rule
# (prediction, EM, prior estimation) carries this guard. Blocking is the only place the
# guard is needed: pairs that are never generated can never be linked.
SAME_PARTY = "l.party_type = r.party_type"

DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH = 1e-4

#: Derived by linkage from `given_name_key` and pipelines/link/nicknames.csv: the name's
#: nickname group (or the name itself when it has none).
NICKNAME_COLUMN = "given_name_group"


@dataclass(frozen=True)
class _Level:
    sql: str
    label: str
    m: float
    u: float
    tf_column: str | None = None

    def creator(self, use_tf: bool) -> CustomLevel | ElseLevel:
        if self.sql == "ELSE":
            return ElseLevel().configure(m_probability=self.m, u_probability=self.u)
        sql = self.sql
        if _TARGET_DIALECT.get() == "spark":
            # sqlglot cannot know Splink's Spark UDF names (from the similarity jar);
            # everything else in these levels it translates from DuckDB SQL itself.
            sql = sql.replace("jaro_winkler_similarity(", "jaro_winkler(")
        level = CustomLevel(sql, self.label, base_dialect_str=DIALECT).configure(
            m_probability=self.m, u_probability=self.u
        )
        if use_tf and self.tf_column is not None:
            # A rare value agreeing is stronger evidence than a common one; the floor
            # stops a value seen once in a small table from dominating the score.
            level.configure(tf_adjustment_column=self.tf_column, tf_minimum_u_value=1e-6)
        return level


def _null(*conditions: str, label: str = "NULL on either side") -> CustomLevel:
    return CustomLevel(" OR ".join(conditions), label).configure(is_null_level=True)


def _either_null(col: str) -> str:
    return f"{col}_l IS NULL OR {col}_r IS NULL"


def _jw(col: str, threshold: float) -> str:
    return f"jaro_winkler_similarity({col}_l, {col}_r) >= {threshold}"


def _else(m: float, u: float) -> _Level:
    return _Level("ELSE", "All other comparisons", m, u)


def _comparison(
    name: str,
    null_level: CustomLevel,
    levels: list[_Level],
    use_tf: bool,
    description: str,
) -> CustomComparison:
    # m values are a distribution over the levels; optional levels (swaps, nicknames) make
    # the hand-set priors sum past 1, so rescale them.
    total_m = sum(lvl.m for lvl in levels)
    levels = [replace(lvl, m=lvl.m / total_m) for lvl in levels]
    return CustomComparison(
        comparison_levels=[null_level, *(lvl.creator(use_tf) for lvl in levels)],
        output_column_name=name,
        comparison_description=description,
    )


_WHOLE_L = "concat_ws(' ', given_name_key_l, family_name_key_l)"
_WHOLE_R = "concat_ws(' ', given_name_key_r, family_name_key_r)"
# "José Ángel | García Rubio" vs "José | Ángel García Rubio": one person, the boundary
# between given and family names drawn elsewhere by another system.
_SAME_WHOLE_NAME = f"{_WHOLE_L} = {_WHOLE_R}"


def _person_name(col: str, other: str, use_tf: bool) -> CustomComparison:
    """Given or family name; `other` is the opposite name column (for swaps).

    The swapped level sits in *both* name comparisons so a record whose given and
    family names were entered the wrong way round still collects two name agreements
    instead of two disagreements. A whole name split differently is one agreement, not
    two: it is a level of the given name and neutral (a null level) for the family name.
    """
    levels = [_Level(f"{col}_l = {col}_r", f"Exact match on {col}", 0.80, 0.004, tf_column=col)]
    null_level = _null(_either_null(col))
    if other != col:
        levels.append(
            _Level(
                f"{col}_l = {other}_r OR {col}_r = {other}_l",
                f"{col} matches the other record's {other} (swapped)",
                0.03,
                0.0002,
            )
        )
        if col == "given_name_key":
            whole = _Level(_SAME_WHOLE_NAME, "Same whole name, split differently", 0.02, 0.0001)
            levels.append(whole)
        else:
            null_level = _null(
                _either_null(col),
                f"({col}_l <> {col}_r AND {_SAME_WHOLE_NAME})",
                label="NULL on either side, or counted by the given name (same whole name)",
            )
    if col == "given_name_key":
        # Nickname groups come from pipelines/link/nicknames.csv (linkage.py derives the
        # column): Pepe ~ José, Bill ~ William, Maite ~ María Teresa.
        levels.append(
            _Level(
                f"{NICKNAME_COLUMN}_l = {NICKNAME_COLUMN}_r",
                "Same name by nickname",
                0.04,
                0.0005,
            )
        )
        # Compound given names shortened to their first part (Juan Carlos -> Juan).
        levels.append(
            _Level(
                f"split_part({col}_l, ' ', 1) = split_part({col}_r, ' ', 1)",
                "Same first given name",
                0.03,
                0.002,
            )
        )
    levels += [
        _Level(_jw(col, 0.92), f"Jaro-Winkler >= 0.92 on {col}", 0.08, 0.002),
        _Level(_jw(col, 0.85), f"Jaro-Winkler >= 0.85 on {col}", 0.04, 0.008),
        _Level(_jw(col, 0.70), f"Jaro-Winkler >= 0.70 on {col}", 0.02, 0.06),
        _else(0.03, 0.926),
    ]
    return _comparison(col, null_level, levels, use_tf, f"Person {col}")


def _full_name(avail: frozenset[str], use_tf: bool) -> CustomComparison:
    col = "full_name_key"
    # When split names are comparable the full name repeats their evidence, and naive
    # Bayes would count it twice; so it only speaks when the split names cannot.
    null_conditions = [_either_null(col)]
    for split in ("given_name_key", "family_name_key"):
        if split in avail:
            null_conditions.append(f"({split}_l IS NOT NULL AND {split}_r IS NOT NULL)")
    token_sorted = f"list_sort(string_split({col}_l, ' ')) = list_sort(string_split({col}_r, ' '))"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on full name", 0.80, 0.002, tf_column=col),
        _Level(token_sorted, "Same name tokens in another order", 0.05, 0.0002),
        _Level(_jw(col, 0.92), "Jaro-Winkler >= 0.92 on full name", 0.08, 0.002),
        _Level(_jw(col, 0.80), "Jaro-Winkler >= 0.80 on full name", 0.04, 0.02),
        _else(0.03, 0.976),
    ]
    return _comparison(col, _null(*null_conditions), levels, use_tf, "Person full name")


def _company_name(use_tf: bool) -> CustomComparison:
    col = "company_name_key"
    token_sorted = f"list_sort(string_split({col}_l, ' ')) = list_sort(string_split({col}_r, ' '))"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on company name", 0.80, 0.002, tf_column=col),
        _Level(token_sorted, "Same company name tokens in another order", 0.03, 0.0002),
        _Level(_jw(col, 0.95), "Jaro-Winkler >= 0.95 on company name", 0.08, 0.001),
        _Level(_jw(col, 0.88), "Jaro-Winkler >= 0.88 on company name", 0.05, 0.01),
        _else(0.04, 0.987),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "Company name")


def _names_agree(avail: frozenset[str]) -> str | None:
    """SQL: both records carry the same person name (nicknames count as the same)."""
    if {"given_name_key", "family_name_key"} <= avail:
        return (
            f"{NICKNAME_COLUMN}_l = {NICKNAME_COLUMN}_r AND family_name_key_l = family_name_key_r"
        )
    if "full_name_key" in avail:
        return "full_name_key_l = full_name_key_r"
    return None


def _email(avail: frozenset[str], use_tf: bool) -> CustomComparison:
    col = "email_key"
    local_l = f"split_part({col}_l, '@', 1)"
    local_r = f"split_part({col}_r, '@', 1)"
    same_local = f"{local_l} = {local_r}"
    close = f"levenshtein({col}_l, {col}_r) <= 2"
    similar_local = f"jaro_winkler_similarity({local_l}, {local_r}) >= 0.88"
    null_level = _null(_either_null(col))
    names_agree = _names_agree(avail)
    if names_agree is not None:
        # People build addresses from their names (jose.garcia@…, jgarcia77@…), so two
        # namesakes' addresses look alike far more often than two random records' do:
        # between equal names a merely *similar* address is no evidence of its own, and
        # counting it (naive Bayes) over-merged namesakes at a million records. An exact
        # address still counts; a different one still counts against.
        null_level = _null(
            _either_null(col),
            f"({col}_l <> {col}_r AND {names_agree} "
            f"AND ({same_local} OR {close} OR {similar_local}))",
            label="NULL on either side, or an address similar only as the names are",
        )
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on e-mail", 0.85, 0.0005, tf_column=col),
        _Level(same_local, "Same local part, other domain", 0.05, 0.0005),
        _Level(close, "Levenshtein <= 2 on e-mail", 0.05, 0.001),
        _Level(similar_local, "Jaro-Winkler >= 0.88 on local part", 0.02, 0.005),
        _else(0.03, 0.993),
    ]
    return _comparison(col, null_level, levels, use_tf, "E-mail address")


def _phone(use_tf: bool) -> CustomComparison:
    col = "phone"
    # E.164 numbers of one subscriber still differ in country-code/trunk prefixes
    # between systems; the last nine digits are the subscriber number (cleansing leaves
    # only "+" and digits, so no digit filter is needed).
    last9_l = f"right({col}_l, 9)"
    last9_r = f"right({col}_r, 9)"
    levels = [
        # Shared numbers (switchboards, family landlines) are common: tf-adjust them.
        _Level(f"{col}_l = {col}_r", "Exact match on phone", 0.80, 0.0005, tf_column=col),
        _Level(f"{last9_l} = {last9_r}", "Same last 9 digits", 0.05, 0.0005),
        _Level(f"levenshtein({last9_l}, {last9_r}) <= 1", "One digit different", 0.05, 0.002),
        _else(0.10, 0.997),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "Phone number")


def _birth_date(use_tf: bool) -> CustomComparison:
    col = "birth_date"
    y = f"year({col}_l) = year({col}_r)"
    m = f"month({col}_l) = month({col}_r)"
    d = f"day({col}_l) = day({col}_r)"
    one_field = (
        f"({y} AND {m}) OR ({y} AND {d}) OR ({m} AND {d}) "
        f"OR ({y} AND month({col}_l) = day({col}_r) AND day({col}_l) = month({col}_r))"
    )
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on birth date", 0.85, 0.0001, tf_column=col),
        _Level(one_field, "One of day/month/year different (or day-month swapped)", 0.08, 0.002),
        _Level(f"abs(datediff('day', {col}_l, {col}_r)) <= 365", "Within a year", 0.02, 0.03),
        _else(0.05, 0.9679),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "Birth date")


def _postcode(use_tf: bool) -> CustomComparison:
    col = "postcode_key"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on postcode", 0.85, 0.002, tf_column=col),
        _Level(f"damerau_levenshtein({col}_l, {col}_r) <= 1", "One character off", 0.06, 0.01),
        _Level(f"left({col}_l, 3) = left({col}_r, 3)", "Same postcode district", 0.03, 0.03),
        _else(0.06, 0.958),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "Postcode")


def _address(use_tf: bool) -> CustomComparison:
    col = "address_key"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on address", 0.75, 0.0005, tf_column=col),
        _Level(_jw(col, 0.95), "Jaro-Winkler >= 0.95 on address", 0.10, 0.001),
        _Level(_jw(col, 0.85), "Jaro-Winkler >= 0.85 on address", 0.07, 0.01),
        _Level(_jw(col, 0.70), "Jaro-Winkler >= 0.70 on address", 0.03, 0.2),
        _else(0.05, 0.7885),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "Address")


def _city(use_tf: bool) -> CustomComparison:
    col = "city_key"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on city", 0.85, 0.01, tf_column=col),
        _Level(_jw(col, 0.90), "Jaro-Winkler >= 0.90 on city", 0.08, 0.01),
        _else(0.07, 0.98),
    ]
    return _comparison(col, _null(_either_null(col)), levels, use_tf, "City")


def _tax_id() -> CustomComparison:
    col = "tax_id"
    levels = [
        _Level(f"{col}_l = {col}_r", "Exact match on tax id", 0.85, 0.0001),
        _Level(f"damerau_levenshtein({col}_l, {col}_r) <= 1", "One edit on tax id", 0.08, 0.0005),
        _Level(f"damerau_levenshtein({col}_l, {col}_r) <= 2", "Two edits on tax id", 0.03, 0.005),
        _else(0.04, 0.9944),
    ]
    return _comparison(col, _null(_either_null(col)), levels, False, "Tax id")


def _comparisons(avail: frozenset[str], use_tf: bool) -> list[CustomComparison]:
    out: list[CustomComparison] = []
    if {"given_name_key", "family_name_key"} <= avail:
        out.append(_person_name("given_name_key", "family_name_key", use_tf))
        out.append(_person_name("family_name_key", "given_name_key", use_tf))
    else:
        # Without the partner column there is nothing to swap with; a plain name
        # comparison on whichever half exists.
        for col in ("given_name_key", "family_name_key"):
            if col in avail:
                out.append(_person_name(col, col, use_tf))
    builders = [
        ("full_name_key", lambda: _full_name(avail, use_tf)),
        ("company_name_key", lambda: _company_name(use_tf)),
        ("email_key", lambda: _email(avail, use_tf)),
        ("phone", lambda: _phone(use_tf)),
        ("birth_date", lambda: _birth_date(use_tf)),
        ("postcode_key", lambda: _postcode(use_tf)),
        ("address_key", lambda: _address(use_tf)),
        ("city_key", lambda: _city(use_tf)),
        ("tax_id", _tax_id),
    ]
    out.extend(build() for col, build in builders if col in avail)
    return out


def _rule(sql: str) -> CustomRule:
    return CustomRule(f"({sql}) AND {SAME_PARTY}", sql_dialect=DIALECT)


_Rule = tuple[tuple[str, ...], str]


def _same(*cols: str) -> _Rule:
    """Exact agreement on every column."""
    return cols, " AND ".join(f"l.{c} = r.{c}" for c in cols)


def _and(*rules: _Rule) -> _Rule:
    cols = tuple(dict.fromkeys(c for r in rules for c in r[0]))
    return cols, " AND ".join(r[1] for r in rules)


def _prefix(col: str, n: int, other: str | None = None) -> _Rule:
    """First `n` characters agree (against `other` on the right side, for swaps)."""
    other = other or col
    return tuple(dict.fromkeys((col, other))), f"left(l.{col}, {n}) = left(r.{other}, {n})"


def _year(col: str) -> _Rule:
    return (col,), f"year(l.{col}) = year(r.{col})"


_SWAPPED_NAMES: _Rule = (
    ("given_name_key", "family_name_key"),
    "l.given_name_key = r.family_name_key AND l.family_name_key = r.given_name_key",
)
_G, _F, _DOB, _PC = "given_name_key", "family_name_key", "birth_date", "postcode_key"

# Candidate rules as (columns needed, SQL). Each is selective on its own at a million
# records (a shared e-mail, phone or tax id; a name pair; a date plus an initial; a
# postcode plus a name prefix), and together they forgive a typo in any single field.
# Rules in pairs with swapped sides exist because l/r order is arbitrary (l < r by key).
_PREDICTION_RULES: tuple[_Rule, ...] = (
    _same("email_key"),
    _same("phone"),
    _same("tax_id"),
    _same(_G, _F),
    _SWAPPED_NAMES,
    _same("full_name_key"),
    _and(_same(_DOB), _prefix(_F, 1)),
    _and(_same(_DOB), _prefix(_G, 1)),
    # nicknames: "Pepe Quintana" / "José Quintana"
    _same(NICKNAME_COLUMN, _F),
    # names entered the wrong way round *and* mistyped: swap-aware initials
    _and(_same(_DOB), _prefix(_G, 1, _F)),
    _and(_same(_DOB), _prefix(_F, 1, _G)),
    _same(_DOB, _PC),
    # typos everywhere but the start of each name: name prefixes within a birth year
    _and(_year(_DOB), _prefix(_G, 2), _prefix(_F, 2)),
    _and(_same(_PC), _prefix(_F, 3)),
    _and(_same(_PC), _prefix(_G, 3)),
    _and(_same(_PC), _prefix(_G, 3, _F)),
    _and(_same(_PC), _prefix(_F, 3, _G)),
    _same("company_name_key"),
    _and(_same(_PC), _prefix("company_name_key", 3)),
    _same("address_key", _PC),
    _and(_same("address_key"), _prefix(_F, 1)),
    _and(_same("address_key"), _prefix("company_name_key", 1)),
)

# Rules that admit (almost) only true matches: used to estimate the prior probability
# that two random records match.
_DETERMINISTIC_RULES: tuple[_Rule, ...] = (
    _same(_G, _F, _DOB),
    _same("tax_id", _DOB),
    _same("tax_id", "company_name_key"),
    _same("email_key", _F),
    _same("email_key", "company_name_key"),
    _same("full_name_key", _DOB),
    _same("company_name_key", _PC),
)

# EM needs blocks where matches are a sizeable share of pairs; each session estimates m
# for every comparison *not* used in its rule, so two sessions on disjoint columns cover
# all comparisons. The first available option of each group wins.
_EM_RULE_GROUPS: tuple[tuple[_Rule, ...], ...] = (
    (_same(_G, _F), _same("full_name_key"), _same("company_name_key")),
    (_same("tax_id"), _same("email_key"), _same("phone"), _same(_DOB, _PC)),
)


def _pick(rules: Iterable[_Rule], avail: frozenset[str]) -> list[str]:
    return [sql for cols, sql in rules if set(cols) <= avail]


@dataclass
class LinkModel:
    """The settings plus the training recipe that goes with them."""

    settings: SettingsCreator
    columns: tuple[str, ...]
    deterministic_rules: list[BlockingRuleCreator] = field(default_factory=list)
    em_rules: list[CustomRule] = field(default_factory=list)
    use_term_frequencies: bool = True
    #: Columns linkage derives before Splink sees the records (not in `staged`).
    derived_columns: tuple[str, ...] = ()

    @property
    def tf_columns(self) -> list[str]:
        """Columns whose term-frequency tables prediction needs."""
        if not self.use_term_frequencies:
            return []
        tf = [c for c in self.columns if c != "tax_id"]
        return sorted(tf)


def build_model(
    available_columns: Iterable[str],
    *,
    use_term_frequencies: bool = True,
    probability_two_random_records_match: float = DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH,
    dialect: str = DIALECT,
) -> LinkModel:
    """Build the model for the populated canonical columns `available_columns`.

    `dialect` is the backend it will run on (`duckdb` or `spark`); the model is the same,
    only function names Splink cannot translate differ.

    `use_term_frequencies=False` drops tf adjustments: on a few dozen records a value's
    frequency says nothing about the population and would swamp the priors.
    """
    avail = frozenset(available_columns) & frozenset(MATCH_COLUMNS)
    if not avail:
        raise ValueError(
            "staged has none of the matching columns "
            f"{', '.join(MATCH_COLUMNS)} populated; nothing to link on. "
            "Check the source field mappings in sources.yaml."
        )
    derived = (NICKNAME_COLUMN,) if "given_name_key" in avail else ()
    prediction_rules = [_rule(sql) for sql in _pick(_PREDICTION_RULES, avail | set(derived))]
    if not prediction_rules:
        # Single odd columns (e.g. only city_key) still need candidate pairs; block on
        # the exact value of each available column.
        prediction_rules = [_rule(f"l.{c} = r.{c}") for c in sorted(avail)]
    em_rules: list[CustomRule] = []
    for group in _EM_RULE_GROUPS:
        picked = _pick(group, avail)
        if picked:
            em_rules.append(_rule(picked[0]))
    token = _TARGET_DIALECT.set(dialect)
    try:
        comparisons = list(_comparisons(avail, use_term_frequencies))
    finally:
        _TARGET_DIALECT.reset(token)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=list(prediction_rules),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["party_type"],
        em_convergence=0.0001,
        max_iterations=25,
    )
    return LinkModel(
        settings=settings,
        columns=tuple(c for c in MATCH_COLUMNS if c in avail),
        deterministic_rules=[_rule(sql) for sql in _pick(_DETERMINISTIC_RULES, avail)],
        em_rules=em_rules,
        use_term_frequencies=use_term_frequencies,
        derived_columns=derived,
    )


__all__ = [
    "DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH",
    "NICKNAME_COLUMN",
    "MATCH_COLUMNS",
    "REQUIRED_COLUMNS",
    "LinkModel",
    "build_model",
]
