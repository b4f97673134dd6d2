"""A CRM in a naming style and language no preset uses, with defects whose records are known.

Spanish table and column names in PascalCase with accents (`Clientes.CorreoElectrónico`,
`Oportunidades.Etapa`), no `IsWon` flag and no soft-delete column: what `cleancrm init` must map
with no hand edit. The defects injected, each on known records:

- `drifted picklist`: an account's `Sector` written in another case, with a stray space, or one
  typo away from its value (`retail`, `Retail `, `Retial`);
- `won without amount`: a deal in the won stage (`Ganada`) with no `Importe`;
- `missing expected field`: a contact without an email address (about 5%, so the field is
  expected, not required);
- `invalid email`: an address without a top-level domain (`m.12@empresa3`);
- `invalid phone`: a Spanish mobile number that lost digits (`+34 61234`);
- `duplicate email`: a newer contact holding another contact's address in another case.

`score` compares a run's findings with them: precision and recall per defect.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

SECTORS = ["Retail", "Banca", "Manufactura", "Tecnología", "Salud", "Educación"]
STAGES = ["Prospección", "Calificación", "Propuesta", "Negociación", "Ganada", "Perdida"]
FIRST = ["María", "José", "Lucía", "Javier", "Carmen", "Pablo", "Elena", "Diego", "Sofía", "Andrés", "Laura", "Miguel"]
LAST = ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz", "Ruiz", "Hernández",
        "Jiménez", "Moreno", "Álvarez", "Romero", "Navarro"]
CITIES = [("Madrid", "28001"), ("Barcelona", "08001"), ("Valencia", "46001"), ("Sevilla", "41001"),
          ("Bilbao", "48001"), ("Málaga", "29001")]
DEFECT_CHECKS = {  # defect → (entity, check id, field of its findings)
    "drifted picklist": ("account", "rule.account_sector_values", "sector"),
    "won without amount": ("opportunity", "accuracy.won_without_amount", None),
    "missing expected field": ("contact", "completeness.expected", "email"),
    "invalid email": ("contact", "accuracy.email_syntax", None),
    "invalid phone": ("contact", "accuracy.phone_valid", None),
    "duplicate email": ("contact", "duplication.exact_email", None),
}


@dataclass
class Unseen:
    """The CRM written and the keys of the records each defect was injected into."""

    path: Path
    truth: dict[str, set[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _drift(value: str, rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return value.lower() if value != value.lower() else value.upper()
    if kind == 1:
        return value + " "
    i = rng.randrange(1, len(value) - 1)  # swap two letters inside the word
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def build(path: Path, contacts: int = 5000, seed: int = 7, as_of: datetime = datetime(2026, 12, 1)) -> Unseen:
    """Write the CRM to a SQLite file at `path`; the defects' records in `truth`."""
    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    truth = {name: set() for name in DEFECT_CHECKS}
    accounts, n_accounts = [], max(20, contacts // 10)
    for i in range(1, n_accounts + 1):
        sector = SECTORS[rng.randrange(len(SECTORS))]
        if rng.random() < 0.03:
            drifted = _drift(sector, rng)
            if drifted != sector:
                sector = drifted
                truth["drifted picklist"].add(str(i))
        city, cp = CITIES[rng.randrange(len(CITIES))]
        created = as_of - timedelta(days=rng.randrange(30, 2000))
        accounts.append((i, f"{LAST[rng.randrange(len(LAST))]} {['S.A.', 'S.L.', 'y Asociados'][i % 3]} {i}", sector,
                         f"https://empresa{i}.es", city, cp, "ES", created.isoformat(sep=" "),
                         (created + timedelta(days=rng.randrange(0, 25))).isoformat(sep=" ")))
    people = []
    for i in range(1, contacts + 1):
        first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        email = f"{first[0].lower()}.{i}@empresa{rng.randrange(1, n_accounts + 1)}.es"
        phone = f"+34 6{rng.randrange(10_000_000, 99_999_999)}"
        created = as_of - timedelta(days=rng.randrange(1, 1500))
        roll = rng.random()
        if roll < 0.05:
            email = None
            truth["missing expected field"].add(str(i))
        elif roll < 0.07:
            email = email.removesuffix(".es")
            truth["invalid email"].add(str(i))
        elif roll < 0.09 and people and people[-1][3] is not None and people[-1][3].endswith(".es") \
                and str(i - 1) not in truth["duplicate email"]:
            email = people[-1][3].upper()  # the previous contact's address, written again later
            created = datetime.fromisoformat(people[-1][9]) + timedelta(days=1)
            truth["duplicate email"].add(str(i))
        if rng.random() < 0.02:
            phone = f"+34 6{rng.randrange(1000, 9999)}"
            truth["invalid phone"].add(str(i))
        city, cp = CITIES[rng.randrange(len(CITIES))]
        people.append((i, first, last, email, phone, city, cp, "ES",
                       rng.randrange(1, n_accounts + 1), created.isoformat(sep=" "),
                       (created + timedelta(days=rng.randrange(0, 30))).isoformat(sep=" ")))
    deals = []
    for i in range(1, contacts // 2 + 1):
        stage = STAGES[rng.randrange(len(STAGES))]
        amount = round(rng.uniform(1_000, 90_000), 2)
        if stage == "Ganada" and rng.random() < 0.06:
            amount = None
            truth["won without amount"].add(str(i))
        created = as_of - timedelta(days=rng.randrange(10, 700))
        deals.append((i, f"Oportunidad {i}", amount, stage, (created + timedelta(days=90)).date().isoformat(),
                      rng.randrange(1, n_accounts + 1), created.isoformat(sep=" ")))
    with sqlite3.connect(path) as con:
        con.execute('CREATE TABLE "Empresas" ("IdEmpresa" INTEGER PRIMARY KEY, "RazónSocial" TEXT, "Sector" TEXT, '
                    '"SitioWeb" TEXT, "Ciudad" TEXT, "CódigoPostal" TEXT, "País" TEXT, "FechaCreación" TEXT, '
                    '"FechaModificación" TEXT)')
        con.execute('CREATE TABLE "Clientes" ("IdCliente" INTEGER PRIMARY KEY, "Nombre" TEXT, "Apellidos" TEXT, '
                    '"CorreoElectrónico" TEXT, "Teléfono" TEXT, "Ciudad" TEXT, "CódigoPostal" TEXT, "País" TEXT, '
                    '"IdEmpresa" INTEGER, "FechaCreación" TEXT, "FechaModificación" TEXT)')
        con.execute('CREATE TABLE "Oportunidades" ("IdOportunidad" INTEGER PRIMARY KEY, "Título" TEXT, '
                    '"Importe" REAL, "Etapa" TEXT, "FechaCierre" TEXT, "IdEmpresa" INTEGER, "FechaCreación" TEXT)')
        con.executemany('INSERT INTO "Empresas" VALUES (?,?,?,?,?,?,?,?,?)', accounts)
        con.executemany('INSERT INTO "Clientes" VALUES (?,?,?,?,?,?,?,?,?,?,?)', people)
        con.executemany('INSERT INTO "Oportunidades" VALUES (?,?,?,?,?,?,?)', deals)
    return Unseen(path, truth, {"account": len(accounts), "contact": len(people), "opportunity": len(deals)})


def score(findings: pd.DataFrame, truth: dict[str, set[str]]) -> pd.DataFrame:
    """Per defect: injected, found, true positives, precision and recall of the check that reports it."""
    rows = []
    for defect, (entity, check_id, field_name) in DEFECT_CHECKS.items():
        mine = findings[(findings.check_id == check_id) & (findings.entity == entity)]
        if field_name is not None:
            mine = mine[mine.field == field_name]
        found = set(mine.record_key.astype(str))
        injected = truth[defect]
        hits = len(found & injected)
        rows.append({"defect": defect, "check": check_id, "injected": len(injected), "found": len(found),
                     "true positives": hits, "precision": hits / len(found) if found else float("nan"),
                     "recall": hits / len(injected) if injected else float("nan")})
    return pd.DataFrame(rows)
