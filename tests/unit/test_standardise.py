"""Table-driven tests of the per-value standardisers, with real-world oddities."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.cleanse import standardise as std

TODAY = date(2024, 6, 1)


# --- text hygiene -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  José   Núñez ", "José Núñez"),
        ("Jose\u0301", "José"),  # decomposed accent -> NFC
        ("Ma\u200bría", "María"),  # zero-width space
        ("\ufeffAna", "Ana"),  # BOM
        ("Jo\x00hn", "John"),  # NUL byte
        ("Juan\tCarlos\r\nPérez", "Juan Carlos Pérez"),
        ("Pe\u00a0ña", "Pe ña"),  # non-breaking space is a space
        ("\u202eAhmed\u202c", "Ahmed"),  # bidi override
        ("\u200f\u05d3\u05d5\u05d3", "\u05d3\u05d5\u05d3"),  # RTL mark, Hebrew kept
        ("محمد علي", "محمد علي"),
        ("Zoë 😀", "Zoë 😀"),  # emoji kept in display values
        ("'); DROP TABLE x;--", "'); DROP TABLE x;--"),  # just text
        ("   ", None),
        ("\u200b\u200d", None),
        ("", None),
        (None, None),
    ],
)
def test_hygiene(raw: str | None, expected: str | None) -> None:
    assert std.hygiene(raw) == expected


@pytest.mark.parametrize(
    ("raw", "value", "flags"),
    [
        ("=HYPERLINK(\"http://x\",\"clic\")", "=HYPERLINK(\"http://x\",\"clic\")",
         ("formula_like",)),
        ("@SUM(A1:A2)", "@SUM(A1:A2)", ("formula_like",)),
        ("+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", ("formula_like",)),
        ("-2+3", "-2+3", ()),  # a number is harmless
        ("JosÃ© MarÃ­a", "José María", ("mojibake_repaired",)),
        ("MuÃ±oz PeÃ±a", "Muñoz Peña", ("mojibake_repaired",)),
        ("Ãlvaro", "Ãlvaro", ()),  # Ã then a letter is real text, not mojibake
        ("JosÃƒÂ©", "José", ("mojibake_repaired",)),  # encoded twice
        ("Mart\ufffdnez", "Mart\ufffdnez", ("undecodable",)),
        ("São Paulo", "São Paulo", ()),
        ("Mª José", "Mª José", ()),
    ],
)
def test_clean_text_flags(raw: str, value: str, flags: tuple[str, ...]) -> None:
    assert std.clean_text(raw) == std.CleanText(value, flags)


def test_long_strings_are_cut_at_a_word_boundary() -> None:
    words = ("palabra " * 1250).strip()  # 9,999 characters
    cleaned = std.clean_text(words, max_length=100)
    assert cleaned.flags == ("truncated",)
    assert len(cleaned.value) <= 100 and cleaned.value.endswith("palabra")
    one_word = "x" * 10_000
    assert std.clean_text(one_word, max_length=100) == std.CleanText("x" * 100, ("truncated",))
    assert std.clean_text(one_word).value == one_word  # no limit: kept whole


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("José Núñez", "jose nunez"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("García-López", "garcia lopez"),
        ("MÜLLER, Jürgen", "muller jurgen"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("Ærø", "aero"),
        ("C/ Mayor, 5 - 3º B", "c mayor 5 3o b"),
        ("S.L.", "sl"),
        ("Zoë 😀", "zoe"),
        ("Москва", "moskva"),
        ("😀", None),
        (None, None),
    ],
)
def test_match_key(raw: str | None, key: str | None) -> None:
    assert std.match_key(raw) == key


# --- phones -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+34 600 123 456", None, std.Phone("+34600123456", None)),
        ("600123456", None, std.Phone("+34600123456", None)),  # default region ES
        ("600123456", "ES", std.Phone("+34600123456", None)),
        ("0034-600-123-456", "ES", std.Phone("+34600123456", None)),
        ("(+34) 600.12.34.56", "ES", std.Phone("+34600123456", None)),
        ("600 123 456 ext. 12", "ES", std.Phone("+34600123456", None)),
        ("(020) 7946 0958", "GB", std.Phone("+442079460958", None)),
        ("+44 20 7946 0958", "ES", std.Phone("+442079460958", None)),
        ("+44 (0)20 7946 0958", None, std.Phone("+442079460958", None)),
        ("020 7946 0958", "ES", std.Phone(None, "invalid")),  # a UK number without +44
        ("+34 500 000 000", None, std.Phone(None, "invalid")),
        ("12", None, std.Phone(None, "invalid")),
        ("n/a", None, std.Phone(None, "unparseable")),
        ("=HYPERLINK(\"tel:1\")", None, std.Phone(None, "unparseable")),
        ("9" * 10_000, None, std.Phone(None, "unparseable")),
        ("600123456", "XX", std.Phone("+34600123456", None)),  # unknown region -> ES
        (None, None, std.Phone(None, None)),
    ],
)
def test_standardise_phone(raw: str | None, country: str | None, expected: std.Phone) -> None:
    assert std.standardise_phone(raw, country) == expected


@settings(max_examples=300, deadline=None)
@given(
    number=st.text(alphabet="0123456789 +-().", min_size=1, max_size=18),
    country=st.sampled_from([None, "ES", "GB", "PT", "FR", "US", "MX", "IT", "DE"]),
)
def test_phone_lookup_key_keeps_the_number(number: str, country: str | None) -> None:
    """Sharing a lookup key never changes which E.164 number comes out."""
    key, region = std.phone_lookup_key(number, country)
    assert std.standardise_phone(key, region or None).e164 == std.standardise_phone(
        number, country
    ).e164


def test_phone_spellings_share_one_lookup_key() -> None:
    spellings = ["+34 600 123 456", "0034-600-123-456", "600123456", "600 12 34 56"]
    assert {std.phone_lookup_key(s, "ES") for s in spellings} == {("+34600123456", "")}


# --- e-mail -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Juan.Perez@Example.COM", std.Email("Juan.Perez@example.com", None)),
        ("  ana@correo.es ", std.Email("ana@correo.es", None)),
        ("josé@correos.es", std.Email("josé@correos.es", None)),
        ("info@bücher.de", std.Email("info@bücher.de", None)),
        ("a.b+tag@sub.example.co.uk", std.Email("a.b+tag@sub.example.co.uk", None)),
        ("no-at-sign.example.com", std.Email(None, "invalid")),
        ("two@@example.com", std.Email(None, "invalid")),
        ("x@localhost", std.Email(None, "invalid")),
        ("x@example.test", std.Email(None, "invalid")),
        ("juan perez@example.com", std.Email(None, "invalid")),
        ("'); DROP TABLE x;--@example.com", std.Email(None, "invalid")),
        (None, std.Email(None, None)),
    ],
)
def test_standardise_email(raw: str | None, expected: std.Email) -> None:
    assert std.standardise_email(raw) == expected


@settings(max_examples=400, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9._%+\-']{1,20}@[A-Za-z0-9.\-]{1,20}\.[A-Za-z]{1,6}",
                  fullmatch=True)
)
def test_email_fast_path_agrees_with_email_validator(address: str) -> None:
    if std.email_fast_path(address):
        local, domain = address.rsplit("@", 1)
        assert std.standardise_email(address) == std.Email(f"{local}@{domain.lower()}", None)


# --- names ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("full_name", "country", "given", "family"),
    [
        ("Juan García López", "ES", "Juan", "García López"),
        ("María José García López", "ES", "María José", "García López"),
        ("María de la Cruz García-López", "ES", "María", "de la Cruz García-López"),
        ("José del Río Pérez", "ES", "José", "del Río Pérez"),
        ("García López, Juan", "ES", "Juan", "García López"),
        ("Sr. D. Juan Pérez", "ES", "Juan", "Pérez"),
        ("Dña. Carmen Ruiz", "ES", "Carmen", "Ruiz"),
        ("Dr. Seán O'Brien Jr.", "IE", "Seán", "O'Brien"),
        ("Ludwig van Beethoven", "DE", "Ludwig", "van Beethoven"),
        ("Pedro van der Berg", "NL", "Pedro", "van der Berg"),
        ("Anne-Marie Smith-Jones", "GB", "Anne-Marie", "Smith-Jones"),
        ("Mary Ann Smith", "US", "Mary Ann", "Smith"),
        ("Don Johnson", "US", "Don", "Johnson"),
        ("Madonna", "US", "Madonna", None),
        ("  ", "ES", None, None),
        (None, "ES", None, None),
    ],
)
def test_split_full_name(full_name: str | None, country: str, given: str | None,
                         family: str | None) -> None:
    assert std.split_full_name(full_name, country) == std.PersonName(given, family)


@pytest.mark.parametrize(
    "name",
    ["Juan García López", "Ana Pérez", "Mary Ann Smith", "Jürgen Müller", "Seán O'Brien",
     "Anne-Marie Smith-Jones", "Lucía Fernández Ruiz Gómez", "Wei Zhang"],
)
def test_fast_name_split_matches_nameparser(name: str) -> None:
    """Plain names skip nameparser for speed; the result must be what nameparser gives."""
    from nameparser import HumanName

    parsed = HumanName(name)
    expected = std.PersonName(" ".join([parsed.first, *parsed.middle_list]), parsed.last)
    assert std.split_full_name(name, "US") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Sr. Juan", "Juan"), ("D. José Luis", "José Luis"), ("Mr John", "John"),
     ("Don", "Don"), ("Dra.", "Dra."), ("María", "María")],
)
def test_strip_honorifics(raw: str, expected: str) -> None:
    assert std.strip_honorifics(raw) == expected


# --- companies --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "display", "key", "legal_form"),
    [
        ("ACME, S.L.", "ACME S.L.", "acme", "SL"),
        ("Acme SL", "Acme S.L.", "acme", "SL"),
        ("Acme s.l.u.", "Acme S.L.U.", "acme", "SLU"),
        ("Construcciones Pérez Sociedad Limitada", "Construcciones Pérez S.L.",
         "construcciones perez", "SL"),
        ("Banco Ejemplo, S.A.", "Banco Ejemplo S.A.", "banco ejemplo", "SA"),
        ("Cooperativa Olivarera S.Coop.", "Cooperativa Olivarera S.Coop.",
         "cooperativa olivarera", "SCOOP"),
        ("Widgets Limited", "Widgets Ltd", "widgets", "LTD"),
        ("Widgets Ltd.", "Widgets Ltd", "widgets", "LTD"),
        ("Big Bank PLC", "Big Bank PLC", "big bank", "PLC"),
        ("Law Partners LLP", "Law Partners LLP", "law partners", "LLP"),
        ("Apple Inc.", "Apple Inc.", "apple", "INC"),
        ("Startup LLC", "Startup LLC", "startup", "LLC"),
        ("Müller GmbH", "Müller GmbH", "muller", "GMBH"),
        ("Müller GmbH & Co. KG", "Müller GmbH & Co. KG", "muller", "GMBH_CO_KG"),
        ("Société Générale S.A.S.", "Société Générale S.A.S.", "societe generale", "SAS"),
        ("Le Petit SARL", "Le Petit SARL", "le petit", "SARL"),
        ("Holland Trading BV", "Holland Trading B.V.", "holland trading", "BV"),
        ("Salsa Studio", "Salsa Studio", "salsa studio", None),  # "sa" inside a word
        ("S.L.", "S.L.", "sl", None),  # nothing but a legal form: kept
        (None, None, None, None),
    ],
)
def test_standardise_company(raw: str | None, display: str | None, key: str | None,
                             legal_form: str | None) -> None:
    assert std.standardise_company(raw) == std.CompanyName(display, key, legal_form)


# --- countries and postcodes ------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("ES", "ES"), ("es", "ES"), ("ESP", "ES"), ("España", "ES"), ("ESPAÑA", "ES"),
        ("Espana", "ES"), ("Spain", "ES"), ("Reino Unido", "GB"), ("United Kingdom", "GB"),
        ("UK", "GB"), ("U.K.", "GB"), ("Great Britain", "GB"), ("England", "GB"),
        ("Deutschland", "DE"), ("Alemania", "DE"), ("Francia", "FR"), ("Países Bajos", "NL"),
        ("EE.UU.", "US"), ("USA", "US"), ("Estados Unidos", "US"), ("México", "MX"),
        ("Brasil", "BR"), ("Perú", "PE"), ("República Dominicana", "DO"), ("Portugal", "PT"),
        ("Atlantis", None), ("", None), (None, None),
    ],
)
def test_standardise_country(raw: str | None, iso: str | None) -> None:
    assert std.standardise_country(raw) == iso


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("28001", "ES", std.Postcode("28001", None)),
        ("8001", "ES", std.Postcode("08001", "leading_zero_restored")),
        (" 08 001 ", "ES", std.Postcode("08001", None)),
        ("99001", "ES", std.Postcode(None, "invalid")),  # no province 99
        ("2800", "ES", std.Postcode("02800", "leading_zero_restored")),
        ("ABCDE", "ES", std.Postcode(None, "invalid")),
        ("sw1a1aa", "GB", std.Postcode("SW1A 1AA", None)),
        ("SW1A  1AA", "GB", std.Postcode("SW1A 1AA", None)),
        ("m1 1ae", "GB", std.Postcode("M1 1AE", None)),
        ("12345", "GB", std.Postcode(None, "invalid")),
        ("1000001", "PT", std.Postcode("1000-001", None)),
        ("75008", "FR", std.Postcode("75008", None)),
        ("k1a 0b1", "CA", std.Postcode("K1A 0B1", None)),
        ("k1a 0b1", None, std.Postcode("K1A 0B1", None)),
        (None, "ES", std.Postcode(None, None)),
    ],
)
def test_standardise_postcode(raw: str | None, country: str | None,
                              expected: std.Postcode) -> None:
    assert std.standardise_postcode(raw, country) == expected


# --- birth dates ------------------------------------------------------------------------

MARCH_12 = std.BirthDate(date(1980, 3, 12), None)
IMPOSSIBLE = std.BirthDate(None, "impossible")
UNPARSEABLE = std.BirthDate(None, "unparseable")


@pytest.mark.parametrize(
    ("raw", "declared", "expected"),
    [
        ("1980-03-12", None, MARCH_12),
        ("1980-03-12T00:00:00", None, MARCH_12),
        ("1980-03-12 00:00:00", None, MARCH_12),
        ("1980/03/12", None, MARCH_12),
        ("12/03/1980", None, MARCH_12),  # day first
        ("12-03-1980", None, MARCH_12),
        ("12.03.1980", None, MARCH_12),
        ("19800312", None, MARCH_12),
        ("03/15/1980", None, std.BirthDate(date(1980, 3, 15), None)),  # only US-readable
        ("03/04/1980", None, std.BirthDate(date(1980, 4, 3), None)),  # ambiguous: day first
        ("12 Mar 1980", None, MARCH_12),
        ("12 March 1980", None, MARCH_12),
        ("March 12, 1980", None, MARCH_12),
        ("12 de marzo de 1980", None, MARCH_12),
        ("12-mar-1980", None, MARCH_12),
        ("29292", None, MARCH_12),  # Excel serial
        ("03121980", "%m%d%Y", MARCH_12),  # declared format wins
        ("1980-03-12", "%d/%m/%Y", MARCH_12),  # declared format wrong: common formats
        ("12/03/80", "%d/%m/%y", MARCH_12),
        ("31/02/1980", None, IMPOSSIBLE),
        ("31/02/1980", "%d/%m/%Y", IMPOSSIBLE),
        ("30 Feb 1980", None, IMPOSSIBLE),
        ("1899-12-31", None, IMPOSSIBLE),
        ("2030-01-01", None, IMPOSSIBLE),  # future
        ("13/13/1980", None, IMPOSSIBLE),
        ("yesterday", None, UNPARSEABLE),
        ("12 Foo 1980", None, UNPARSEABLE),
        ("=TODAY()", None, UNPARSEABLE),
        ("1" * 10_000, None, UNPARSEABLE),
        (None, None, std.BirthDate(None, None)),
    ],
)
def test_parse_birth_date(raw: str | None, declared: str | None,
                          expected: std.BirthDate) -> None:
    assert std.parse_birth_date(raw, declared, TODAY) == expected


# --- tax ids ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678Z", std.TaxId("12345678Z", "NIF", True)),
        ("12.345.678-z", std.TaxId("12345678Z", "NIF", True)),
        ("00000000T", std.TaxId("00000000T", "NIF", True)),
        ("12345678A", std.TaxId("12345678A", "NIF", False)),
        ("X1234567L", std.TaxId("X1234567L", "NIE", True)),
        ("Y-1234567-X", std.TaxId("Y1234567X", "NIE", True)),
        ("Z1234567R", std.TaxId("Z1234567R", "NIE", True)),
        ("X1234567A", std.TaxId("X1234567A", "NIE", False)),
        ("B12345674", std.TaxId("B12345674", "CIF", True)),
        ("B-1234567-4", std.TaxId("B12345674", "CIF", True)),
        ("ESB12345674", std.TaxId("B12345674", "CIF", True)),  # VAT prefix
        ("B12345675", std.TaxId("B12345675", "CIF", False)),
        ("P1234567D", std.TaxId("P1234567D", "CIF", True)),  # letter control
        ("P12345674", std.TaxId("P12345674", "CIF", False)),  # P needs a letter
        ("A58818501", std.TaxId("A58818501", "CIF", True)),
        ("GB 123 4567 89", std.TaxId("GB123456789", None, None)),  # kept, not checkable
        ("DE-811 907 980", std.TaxId("DE811907980", None, None)),
        ("9" * 10_000, std.TaxId(None, None, None)),
        (None, std.TaxId(None, None, None)),
    ],
)
def test_standardise_tax_id(raw: str | None, expected: std.TaxId) -> None:
    assert std.standardise_tax_id(raw) == expected


# --- party type -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [("person", "person"), ("Persona Física", "person"), ("B2C", "person"),
     ("EMPRESA", "company"), ("Organisation", "company"), ("???", None), (None, None)],
)
def test_canonical_party_type(raw: str | None, expected: str | None) -> None:
    assert std.canonical_party_type(raw) == expected


@pytest.mark.parametrize(
    ("person", "company", "tax_kind", "expected"),
    [
        (True, False, None, "person"),
        (False, True, None, "company"),
        (False, False, "CIF", "company"),
        (True, True, "CIF", "person"),  # a contact person at a company
        (False, False, "NIF", "person"),
        (False, False, None, "person"),
    ],
)
def test_infer_party_type(person: bool, company: bool, tax_kind: str | None,
                          expected: str) -> None:
    assert std.infer_party_type(person, company, tax_kind) == expected


# --- robustness -------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_no_standardiser_raises_on_arbitrary_text(text: str) -> None:
    std.clean_text(text, 50)
    std.match_key(text)
    std.split_full_name(text, "ES")
    std.standardise_company(text)
    std.standardise_phone(text, "ES")
    std.standardise_email(text)
    std.standardise_country(text)
    std.standardise_postcode(text, "ES")
    std.standardise_postcode(text, "GB")
    std.parse_birth_date(text, "%d/%m/%Y", TODAY)
    std.standardise_tax_id(text)
    cleaned = std.hygiene(text)
    assert cleaned is None or (cleaned == cleaned.strip() and "  " not in cleaned)
