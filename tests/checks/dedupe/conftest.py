import pandas as pd
import pytest


@pytest.fixture
def people() -> pd.DataFrame:
    """Small contact table: two duplicate groups among unrelated people."""
    rows = [
        ("a1", "Robert", "Miller", "rob.miller@acme.com", "(415) 555-2671", "Acme Inc.", "12 Main Street", "Springfield",
         "62701", "USA", "2020-01-01", "2024-01-01"),
        ("a2", "Bob", "Miller", None, "+1 415 555 2671", "ACME LLC", "12 Main St", "Springfield", "62701", "US",
         "2019-05-01", "2024-06-01"),
        ("a3", "Robert", "Miler", "ROB.MILLER@ACME.COM", None, "Acme", "12 Main St.", "Springfield", "62701", "US",
         "2021-01-01", "2023-01-01"),
        ("b1", "Ingrid", "Okafor", "ingrid.okafor@gmail.com", "020 7946 0018", "Nordlys AS", "3 High Road", "London",
         "SW1A 1AA", "UK", "2020-02-02", "2022-02-02"),
        ("b2", "Okafor", "Ingrid", "ingrid.okafor+news@googlemail.com", "+44 20 7946 0018", "Nordlys", "3 High Rd",
         "London", "SW1A1AA", "GB", "2021-02-02", "2025-02-02"),
        ("c1", "Maria", "Gonzalez", "maria.g@example.net", "(212) 555-0199", "Zenith Corp", "400 Park Ave", "New York",
         "10022", "US", "2020-03-03", "2021-03-03"),
        ("d1", "Wei", "Chen", "wei.chen@chenco.cn", "(650) 555-0111", "Chen Co", "9 Lake Dr", "Palo Alto", "94301",
         "US", "2020-04-04", "2021-04-04"),
        ("e1", "Ana", "Silva", "ana.silva@brmail.br", "(305) 555-0144", "Silva Imports", "77 Bay Rd", "Miami",
         "33101", "US", "2020-05-05", "2021-05-05"),
    ]
    cols = ["key", "first_name", "last_name", "email", "phone", "company", "street", "city", "postal_code", "country",
            "created_at", "modified_at"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("created_at", "modified_at"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def filler(n: int, seed: int = 3) -> pd.DataFrame:
    """Unrelated people (distinct names, phones, addresses) to give EM and u a population."""
    import numpy as np

    rng = np.random.default_rng(seed)
    first = ["Liam", "Emma", "Noah", "Olivia", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Amelia", "Ethan", "Harper",
             "Mateo", "Evelyn", "Levi", "Luna", "Kai", "Nora", "Ezra", "Aria"]
    last = [f"{a}{b}" for a in ["Hol", "Ber", "Kas", "Mon", "Tar", "Vel", "Quin", "Dor", "Fen", "Gar"]
            for b in ["man", "ston", "ley", "berg", "ford", "wick", "son", "dale"]]
    rows = []
    for i in range(n):
        rows.append({
            "key": f"f{i}", "first_name": first[rng.integers(len(first))], "last_name": last[rng.integers(len(last))],
            "email": f"user{i}@mail{i % 7}.org", "phone": f"(312) {rng.integers(200, 999)}-{1000 + i:04d}",
            "company": f"Firm {i % 40}", "street": f"{rng.integers(1, 999)} Elm {i % 30} St", "city": f"Town{i % 25}",
            "postal_code": f"{60000 + i % 300}", "country": "US",
        })
    return pd.DataFrame(rows)
