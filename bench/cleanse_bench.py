"""Throughput of the cleansing stage on a synthetic `mapped` table.

    .venv/bin/python bench/cleanse_bench.py [--rows 1000000] [--runs 3]

Records are drawn from a smaller population of customers (the same person appears in several
systems), with realistic repetition of names, streets and cities, per-source formats
(phones, dates, name layouts) and a sprinkling of the problems cleansing handles. Generation
is vectorised (numpy + DuckDB SQL); only `cleanse()` is timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.cleanse.cleanse import cleanse  # noqa: E402

GIVEN = (
    "Juan María José Ana Antonio Carmen Manuel Laura Francisco Lucía David Marta Javier "
    "Elena Daniel Sara Carlos Paula Miguel Cristina Alejandro Isabel Rafael Pilar Pablo "
    "Raquel Sergio Nuria Jorge Rocío Álvaro Inés Íñigo Begoña Joaquín Mónica Andrés Noemí "
    "Jesús Sofía Ramón Ángela Óscar Belén Adrián Irene Víctor Nerea Rubén Alba John Mary "
    "James Sarah Seán Siobhán Hans Jürgen François Zoë María José Juan Carlos Ana Belén"
).split()
FAMILY = (
    "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez "
    "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres "
    "Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega "
    "Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias Medina Garrido Cortés Castillo "
    "Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego Vidal León Márquez "
    "Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco Diez Caballero Reyes Nieto "
    "Aguilar Pascual Santana Herrero Lorenzo Montero Hidalgo Giménez Ibáñez Ferrer Durán "
    "Santiago Benítez Mora Vicente Vargas Arias Carmona Crespo Román Pastor Soto Sáez "
    "Velasco Moya Soler Parra Esteban Bravo Gallardo Rojas O'Brien Smith Müller García-López"
).split()
CITIES = (
    "Madrid Barcelona Valencia Sevilla Zaragoza Málaga Murcia Palma Bilbao Alicante Córdoba "
    "Valladolid Vigo Gijón Vitoria Granada Elche Oviedo Badalona Cartagena Terrassa Jerez "
    "Sabadell Móstoles Alcalá Pamplona Almería Fuenlabrada Leganés Donostia Burgos "
    "Santander Castellón Getafe Albacete Alcorcón Logroño Badajoz Salamanca Huelva Lleida "
    "Marbella Tarragona León Cádiz Jaén Ourense Girona Lugo Cáceres Melilla Ceuta"
).split()
STREETS = (
    "Mayor;Real;de la Constitución;del Sol;San Francisco;Gran Vía;de Alcalá;Nueva;"
    "de la Iglesia;del Carmen;de Andalucía;Colón;de España;San Juan;de la Paz;del Mar;"
    "de Goya;de Cervantes;Princesa;Serrano;de Velázquez;del Prado;Ancha;de la Estación"
).split(";")
STREET_TYPES = ["Calle", "C/", "Avda.", "Avenida", "Plaza", "Paseo"]
COMPANIES = (
    "Construcciones;Transportes;Distribuciones;Talleres;Inversiones;Servicios Integrales;"
    "Consultoría;Alimentación;Logística;Reformas;Electricidad;Fontanería;Hostelería"
).split(";")
LEGAL = ["S.L.", "SL", "S.A.", "S.L.U.", ", S.L.", "SA", "Sociedad Limitada", ""]
SOURCES = ["crm", "erp", "helpdesk", "shop", "marketing"]
NIF_LETTERS = np.array(list("TRWAGMYFPDXBNJZSQVHLCKE"))


def _pick(rng: np.random.Generator, values: list[str], n: int, zipf: bool = True) -> np.ndarray:
    """Names are Zipf-distributed in real populations: a few very common, a long tail."""
    if zipf:
        weights = 1.0 / np.arange(1, len(values) + 1) ** 0.8
        return rng.choice(len(values), size=n, p=weights / weights.sum())
    return rng.integers(0, len(values), size=n)


def build_mapped(con: duckdb.DuckDBPyConnection, rows: int, seed: int = 20240601) -> None:
    rng = np.random.default_rng(seed)
    people = max(rows * 2 // 5, 1)
    dni = rng.integers(10_000_000, 99_999_999, size=people)
    entities = pa.table({
        "e": np.arange(people),
        "given": _pick(rng, GIVEN, people),
        "fam1": _pick(rng, FAMILY, people),
        "fam2": _pick(rng, FAMILY, people),
        "city": _pick(rng, CITIES, people),
        "street": _pick(rng, STREETS, people),
        "stype": _pick(rng, STREET_TYPES, people),
        "num": rng.integers(1, 200, size=people),
        "phone": rng.integers(600_000_000, 699_999_999, size=people),
        "dob": rng.integers(-20_000, 12_000, size=people),
        "nif": np.char.add(dni.astype(str), NIF_LETTERS[dni % 23]),
        "cp": rng.integers(1, 52, size=people) * 1000 + rng.integers(1, 999, size=people),
        "is_company": rng.random(people) < 0.15,
        "company": _pick(rng, COMPANIES, people),
        "legal": _pick(rng, LEGAL, people, zipf=False),
    })
    records = pa.table({
        "r": np.arange(rows),
        "e": rng.integers(0, people, size=rows),
        "src": rng.integers(0, len(SOURCES), size=rows),
        "noise": rng.random(rows),
    })
    con.register("entities", entities)
    con.register("records", records)
    lists = {
        "g": GIVEN, "f": FAMILY, "c": CITIES, "s": STREETS, "t": STREET_TYPES,
        "co": COMPANIES, "l": LEGAL, "src": SOURCES,
    }
    for name, values in lists.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE l_{name} AS SELECT ? AS v", [values])
    con.execute(
        """
        CREATE OR REPLACE TABLE mapped AS
        WITH base AS (
            SELECT r.r, r.noise, (SELECT v FROM l_src)[r.src + 1] AS source_system,
                (SELECT v FROM l_g)[e.given + 1] AS given,
                (SELECT v FROM l_f)[e.fam1 + 1] || ' ' || (SELECT v FROM l_f)[e.fam2 + 1]
                    AS family,
                (SELECT v FROM l_c)[e.city + 1] AS city,
                (SELECT v FROM l_t)[e.stype + 1] || ' ' || (SELECT v FROM l_s)[e.street + 1]
                    || ' ' || e.num AS street,
                e.phone, DATE '1970-01-01' + CAST(e.dob AS INTEGER) AS dob, e.nif, e.cp,
                e.is_company,
                (SELECT v FROM l_co)[e.company + 1] || ' ' || (SELECT v FROM l_f)[e.fam1 + 1]
                    || ' ' || (SELECT v FROM l_l)[e.legal + 1] AS company,
                e.e
            FROM records r JOIN entities e USING (e)
        )
        SELECT
            source_system,
            row_number() OVER (PARTITION BY source_system ORDER BY r) AS source_row_number,
            CASE WHEN noise < 0.001 THEN NULL
                 WHEN noise < 0.011 THEN CAST(e AS VARCHAR)          -- duplicate keys
                 ELSE CAST(r AS VARCHAR) END AS source_record_id,
            CASE WHEN source_system = 'erp' AND is_company THEN 'company' END AS party_type,
            CASE WHEN NOT is_company AND source_system IN ('crm', 'shop', 'marketing')
                 THEN CASE WHEN noise > 0.97 THEN upper(given) ELSE given END END AS given_name,
            CASE WHEN NOT is_company AND source_system IN ('crm', 'shop', 'marketing')
                 THEN family END AS family_name,
            CASE WHEN NOT is_company AND source_system IN ('erp', 'helpdesk')
                 THEN CASE WHEN noise > 0.995 THEN replace(given, 'é', 'Ã©') ELSE given END
                      || ' ' || family END AS full_name,
            CASE WHEN is_company THEN company END AS company_name,
            CASE WHEN noise BETWEEN 0.5 AND 0.52 THEN 'not-an-email'
                 WHEN source_system <> 'helpdesk'
                 THEN lower(strip_accents(given)) || '.' || e || '@'
                      || CASE WHEN noise > 0.6 THEN 'gmail.com' ELSE 'Example.ES' END
                 END AS email,
            CASE source_system
                WHEN 'crm' THEN '+34 ' || substr(CAST(phone AS VARCHAR), 1, 3) || ' '
                    || substr(CAST(phone AS VARCHAR), 4, 3) || ' '
                    || substr(CAST(phone AS VARCHAR), 7, 3)
                WHEN 'helpdesk' THEN '0034-' || CAST(phone AS VARCHAR)
                WHEN 'marketing' THEN CASE WHEN noise < 0.05 THEN '12345' END
                ELSE CAST(phone AS VARCHAR) END AS phone,
            street AS address_line1,
            CASE WHEN noise > 0.7 THEN (CAST(noise * 10 AS INTEGER)) || 'º B' END
                AS address_line2,
            CASE WHEN source_system = 'erp' THEN CAST(cp AS VARCHAR)
                 ELSE lpad(CAST(cp AS VARCHAR), 5, '0') END AS postcode,
            CASE WHEN noise > 0.9 AND source_system = 'shop' THEN upper(city) ELSE city END
                AS city,
            NULL AS region,
            CASE source_system WHEN 'erp' THEN 'España' WHEN 'crm' THEN 'ES'
                 WHEN 'shop' THEN 'Spain' ELSE NULL END AS country,
            CASE source_system
                WHEN 'crm' THEN strftime(dob, '%Y-%m-%d')
                WHEN 'erp' THEN strftime(dob, '%d/%m/%Y')
                WHEN 'helpdesk' THEN strftime(dob, '%Y%m%d')
                WHEN 'shop' THEN CASE WHEN noise < 0.02 THEN '31/02/1980'
                                      ELSE strftime(dob, '%d.%m.%Y') END
                ELSE NULL END AS birth_date,
            CASE WHEN source_system IN ('erp', 'crm') THEN
                CASE WHEN noise < 0.01 THEN '12345678A' ELSE nif END END AS tax_id,
            CASE WHEN source_system = 'helpdesk' THEN '%Y%m%d' END AS birth_date_format,
            NULL::TIMESTAMP AS source_updated_at,
            '{"bench": true}' AS raw_record,
            TIMESTAMP '2024-06-01 02:00:00' AS loaded_at
        FROM base
        """
    )
    con.unregister("entities")
    con.unregister("records")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    con = duckdb.connect()
    started = time.perf_counter()
    build_mapped(con, args.rows)
    print(f"generated {args.rows:,} mapped rows in {time.perf_counter() - started:.1f} s")

    timings = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        counts = cleanse(con)
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        print(f"run {run}: {elapsed:.2f} s, {args.rows / elapsed:,.0f} records/s  {counts}")
    median = statistics.median(timings)
    print(f"median of {args.runs}: {median:.2f} s, {args.rows / median:,.0f} records/s")


if __name__ == "__main__":
    main()
