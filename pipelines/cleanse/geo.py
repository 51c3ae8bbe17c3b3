"""Countries (ISO 3166-1 alpha-2 from codes and English/Spanish/native names) and postcodes."""

from __future__ import annotations

import re
from typing import NamedTuple

from pipelines.cleanse.text import hygiene, match_key

# alpha-2, alpha-3, then names (English, Spanish, native, common aliases); a country may
# take several lines. Covers the EU,
# EFTA, UK, North America, Latin America and the largest other trading partners.
_COUNTRIES = """
ES ESP Spain|España|Espanya|Espainia|Reino de España
GB GBR United Kingdom|UK|U.K.|Great Britain|Britain|Reino Unido|Gran Bretaña
GB GBR England|Scotland|Wales|Northern Ireland|Inglaterra|Escocia|Gales|Irlanda del Norte
IE IRL Ireland|Irlanda|Éire|Eire
PT PRT Portugal
FR FRA France|Francia
DE DEU Germany|Alemania|Deutschland
IT ITA Italy|Italia
NL NLD Netherlands|The Netherlands|Holland|Países Bajos|Paises Bajos|Holanda|Nederland
BE BEL Belgium|Bélgica|Belgica|België|Belgique
LU LUX Luxembourg|Luxemburgo
AT AUT Austria|Österreich
DK DNK Denmark|Dinamarca|Danmark
SE SWE Sweden|Suecia|Sverige
FI FIN Finland|Finlandia|Suomi
PL POL Poland|Polonia|Polska
CZ CZE Czechia|Czech Republic|Chequia|República Checa|Česko
SK SVK Slovakia|Eslovaquia|Slovensko
HU HUN Hungary|Hungría|Hungria|Magyarország
SI SVN Slovenia|Eslovenia|Slovenija
HR HRV Croatia|Croacia|Hrvatska
RO ROU Romania|Rumanía|Rumania|România
BG BGR Bulgaria
GR GRC Greece|Grecia|Hellas|Ελλάδα|EL
CY CYP Cyprus|Chipre
MT MLT Malta
EE EST Estonia|Eesti
LV LVA Latvia|Letonia|Latvija
LT LTU Lithuania|Lituania|Lietuva
CH CHE Switzerland|Suiza|Schweiz|Suisse|Svizzera
NO NOR Norway|Noruega|Norge
IS ISL Iceland|Islandia|Ísland
LI LIE Liechtenstein
AD AND Andorra
MC MCO Monaco|Mónaco
SM SMR San Marino
GI GIB Gibraltar
US USA United States|United States of America|USA|U.S.A.|U.S.|US|America
US USA Estados Unidos|Estados Unidos de América|EEUU|EE.UU.|EE. UU.
CA CAN Canada|Canadá
MX MEX Mexico|México|Méjico
GT GTM Guatemala
BZ BLZ Belize|Belice
HN HND Honduras
SV SLV El Salvador|Salvador
NI NIC Nicaragua
CR CRI Costa Rica
PA PAN Panama|Panamá
CU CUB Cuba
DO DOM Dominican Republic|República Dominicana|Republica Dominicana
PR PRI Puerto Rico
HT HTI Haiti|Haití
JM JAM Jamaica
CO COL Colombia
VE VEN Venezuela
EC ECU Ecuador
PE PER Peru|Perú
BO BOL Bolivia
CL CHL Chile
AR ARG Argentina
UY URY Uruguay
PY PRY Paraguay
BR BRA Brazil|Brasil
MA MAR Morocco|Marruecos|Maroc
DZ DZA Algeria|Argelia
TN TUN Tunisia|Túnez
EG EGY Egypt|Egipto
ZA ZAF South Africa|Sudáfrica
NG NGA Nigeria
TR TUR Turkey|Türkiye|Turquía|Turquia
RU RUS Russia|Russian Federation|Rusia
UA UKR Ukraine|Ucrania
IL ISR Israel
AE ARE United Arab Emirates|UAE|Emiratos Árabes Unidos
SA SAU Saudi Arabia|Arabia Saudí|Arabia Saudita
IN IND India
CN CHN China
JP JPN Japan|Japón|Japon
KR KOR South Korea|Korea|Republic of Korea|Corea del Sur
SG SGP Singapore|Singapur
AU AUS Australia
NZ NZL New Zealand|Nueva Zelanda
PH PHL Philippines|Filipinas
"""


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for line in _COUNTRIES.strip().splitlines():
        alpha2, alpha3, names = line.split(" ", 2)
        for alias in (alpha2, alpha3, *names.split("|")):
            key = match_key(alias)
            assert key is not None
            lookup.setdefault(key, alpha2)
    return lookup


_COUNTRY_BY_KEY = _build_lookup()
COUNTRY_CODES = frozenset(_COUNTRY_BY_KEY.values())


def standardise_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2, or None when the value is not a country we know."""
    key = match_key(value)
    if key is None:
        return None
    return _COUNTRY_BY_KEY.get(key)


class Postcode(NamedTuple):
    value: str | None
    status: str | None  # None (ok), "leading_zero_restored", "invalid"


_ES_RE = re.compile(r"^\d{4,5}$")
_GB_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$|^(GIR)(0AA)$")
_PT_RE = re.compile(r"^(\d{4})(\d{3})$")


def standardise_postcode(value: str | None, country: str | None = None) -> Postcode:
    """ES: 5 digits (a leading zero lost by a spreadsheet is restored), province 01-52.
    GB: "OUTWARD INWARD" upper case. PT: NNNN-NNN. Others: upper case, spaces collapsed."""
    text = hygiene(value)
    if text is None:
        return Postcode(None, None)
    upper = text.upper()
    compact = re.sub(r"[\s\-.]", "", upper)
    if country == "ES":
        if not _ES_RE.match(compact):
            return Postcode(None, "invalid")
        padded = compact.zfill(5)
        if not 1 <= int(padded[:2]) <= 52:
            return Postcode(None, "invalid")
        return Postcode(padded, "leading_zero_restored" if padded != compact else None)
    if country == "GB":
        match = _GB_RE.match(compact)
        if match is None:
            return Postcode(None, "invalid")
        outward, inward = (g for g in match.groups() if g)
        return Postcode(f"{outward} {inward}", None)
    if country == "PT":
        match = _PT_RE.match(compact)
        if match is None:
            return Postcode(None, "invalid")
        return Postcode(f"{match.group(1)}-{match.group(2)}", None)
    return Postcode(upper, None)
