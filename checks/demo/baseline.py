"""A clean, realistic CRM: users, accounts, contacts, leads and opportunities.

Vectorised with numpy so that 100k contacts take seconds. Names and companies come from Faker
pools per locale; addresses, phones and emails are built so that every value is valid and every
record is unique on the keys a duplicate check uses. Defects are added afterwards (defects.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import phonenumbers
from cleanco import basename
from faker import Faker

from checks.demo.places import (
    COUNTRIES,
    LEAD_CLOSED_STATUSES,
    LEAD_OPEN_STATUSES,
    LOST,
    OPEN_STAGES,
    PRODUCTS,
    TITLES,
    UK_INWARD_LETTERS,
    WON,
    City,
    Country,
)
from checks.values import job_profile

DAY = 86_400


@dataclass
class Pools:
    """Name and company pools per country code."""

    first: dict[str, np.ndarray]
    last: dict[str, np.ndarray]
    companies: dict[str, np.ndarray]


def ascii_fold(text: str) -> str:
    """`Müller` → `muller`: lowercase ASCII letters and digits only (for email local parts)."""
    norm = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", norm.encode("ascii", "ignore").decode().lower())


def _clean_name(name: str) -> bool:
    # Keep single-word, capitalised names: compound names would blur the casing and swap checks.
    return bool(re.fullmatch(r"[^\W\d_][^\W\d_'’-]{1,}", name)) and name[0].isupper() and not name.isupper()


def build_pools(seed: int, size: int = 300) -> Pools:
    """Sample first names, last names and company names per locale, deterministically.

    Names that are both a given name and a surname in the checks' dictionaries are left out: a
    swap of "Jordan Taylor" is undetectable, so the demo only swaps names where it is not.
    """
    from checks.reference import name_dictionaries

    dict_first, dict_last = name_dictionaries()
    first, last, companies = {}, {}, {}
    seen: set[str] = set()
    for country in COUNTRIES:
        fake = Faker(country.locale)
        fake.seed_instance(seed)
        f = sorted({n for n in (fake.first_name() for _ in range(size * 3))
                    if _clean_name(n) and n.lower() in dict_first and n.lower() not in dict_last})
        surname = sorted({n for n in (fake.last_name() for _ in range(size * 3))
                          if _clean_name(n) and n.lower() in dict_last and n.lower() not in dict_first})
        first[country.code] = np.array(f[:size], dtype=object)
        last[country.code] = np.array(surname[:size], dtype=object)
        names = []
        for _ in range(size * 40):
            name = fake.company().replace("\n", " ")
            core = basename(name).casefold()
            if core and core not in seen and ascii_fold(core):
                seen.add(core)
                names.append(name)
        companies[country.code] = np.array(names, dtype=object)
    # A name that is both a first and a last name somewhere would make swaps undetectable.
    all_first = set().union(*map(set, first.values()))
    all_last = set().union(*map(set, last.values()))
    both = all_first & all_last
    first = {c: np.array([n for n in v if n not in both], dtype=object) for c, v in first.items()}
    last = {c: np.array([n for n in v if n not in both], dtype=object) for c, v in last.items()}
    return Pools(first, last, companies)


def _postal(rng: np.random.Generator, city: City, n: int) -> np.ndarray:
    pattern = city.postal
    m = re.fullmatch(r"(\d+)-(\d+)(.*)", pattern)
    if m:
        lo, hi, suffix = int(m.group(1)), int(m.group(2)), m.group(3)
        width = len(m.group(1))
        nums = rng.integers(lo, hi + 1, n)
        out = np.array([str(x).zfill(width) for x in nums], dtype=object)
        if suffix.strip():  # Dutch postcodes: 4 digits and 2 letters, never SA, SD or SS
            first = np.array(list("ABCDEGHJKLMNPRTVWXZ"))
            letters = np.array(list("ABCDEGHJKLMNPRSTVWXZ"))
            pairs = first[rng.integers(0, len(first), n)] + letters[rng.integers(0, len(letters), n)]
            out = out + " " + pairs
        return out
    # UK: outward code given, inward = digit + two letters
    outward = pattern.split(" ")[0]
    letters = np.array(list(UK_INWARD_LETTERS))
    digit = rng.integers(0, 10, n).astype(str)
    return (outward + " " + digit + letters[rng.integers(0, len(letters), n)]
            + letters[rng.integers(0, len(letters), n)]).astype(object)


def _subscribers(rng: np.random.Generator, country: Country, digits: int, n: int) -> np.ndarray:
    if country.code == "US":
        exchange = rng.integers(200, 1000, n)
        exchange = np.where((exchange % 100 == 11) | (exchange == 555), exchange + 1, exchange)
        line = rng.integers(0, 10_000, n)
        return np.array([f"{e}{ln:04d}" for e, ln in zip(exchange, line, strict=True)], dtype=object)
    first = rng.integers(2, 10, n)
    rest = rng.integers(0, 10 ** (digits - 1), n)
    return np.array([f"{a}{b:0{digits - 1}d}" for a, b in zip(first, rest, strict=True)], dtype=object)


def _valid_in(number: str, region: str) -> bool:
    """Valid, and in the country itself (UK mobile ranges include Jersey and Guernsey)."""
    parsed = phonenumbers.parse(number)
    return phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == region


def valid_phones(rng, country: Country, city: City | None, n: int) -> np.ndarray:
    """`n` valid E.164 numbers: landlines of `city`, or mobiles when `city` is None."""
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        if city is None:
            prefix, digits = (country.mobile_prefix, country.mobile_digits) if country.mobile_prefix else (
                country.cities[0].area, 7)
        else:
            prefix, digits = city.area, city.subscriber_digits
        nums = "+" + country.calling_code + prefix + _subscribers(rng, country, digits, len(todo))
        ok = np.array([_valid_in(x, country.code) for x in nums])
        out[todo[ok]] = nums[ok]
        todo = todo[~ok]
    return out


def _dates(rng, as_of: datetime, n: int, oldest_days: int, newest_days: int, recent_days: int):
    """Created in [as_of-oldest, as_of-newest]; modified after created and within `recent_days`."""
    created = as_of - pd.to_timedelta(rng.integers(newest_days * DAY, oldest_days * DAY, n), unit="s")
    floor = np.maximum(created.values, np.datetime64(as_of - timedelta(days=recent_days)))
    span = (np.datetime64(as_of) - floor).astype("timedelta64[s]").astype(np.int64)
    modified = floor + (rng.random(n) * span).astype("timedelta64[s]")
    return pd.Series(created).dt.floor("s"), pd.Series(modified).dt.floor("s")


def people(rng, pools: Pools, n: int, as_of: datetime, company_domains: np.ndarray | None = None) -> pd.DataFrame:
    """`n` clean people with names, address, phones and a unique email."""
    shares = np.array([c.share for c in COUNTRIES])
    idx = rng.choice(len(COUNTRIES), n, p=shares / shares.sum())
    frame = pd.DataFrame(index=np.arange(n))
    for col in ("first_name", "last_name", "city", "state", "postal_code", "country", "phone", "mobile", "email"):
        frame[col] = pd.Series([None] * n, dtype=object)
    for ci, country in enumerate(COUNTRIES):
        rows = np.flatnonzero(idx == ci)
        if not len(rows):
            continue
        fn, ln = pools.first[country.code], pools.last[country.code]
        frame.loc[rows, "first_name"] = fn[rng.integers(0, len(fn), len(rows))]
        frame.loc[rows, "last_name"] = ln[rng.integers(0, len(ln), len(rows))]
        frame.loc[rows, "country"] = country.code
        city_idx = rng.integers(0, len(country.cities), len(rows))
        for k, city in enumerate(country.cities):
            sub = rows[city_idx == k]
            if not len(sub):
                continue
            frame.loc[sub, "city"] = city.name
            frame.loc[sub, "state"] = city.state
            frame.loc[sub, "postal_code"] = _postal(rng, city, len(sub))
            frame.loc[sub, "phone"] = valid_phones(rng, country, city, len(sub))
        frame.loc[rows, "mobile"] = valid_phones(rng, country, None, len(rows))
        free = np.array(country.free_mail)
        frame.loc[rows, "email_domain"] = free[rng.integers(0, len(free), len(rows))]
    if company_domains is not None:
        corporate = rng.random(n) < 0.6
        frame.loc[corporate, "email_domain"] = company_domains[corporate]
    # About a fifth of people have no landline and a third no mobile: realistic, and not a defect.
    frame.loc[rng.random(n) < 0.2, "phone"] = None
    frame.loc[rng.random(n) < 0.35, "mobile"] = None
    local = [f"{ascii_fold(f)}.{ascii_fold(s)}" for f, s in zip(frame.first_name, frame.last_name, strict=True)]
    frame["email"] = _unique_emails(local, frame.email_domain.tolist())
    frame = frame.drop(columns="email_domain")
    frame["created_at"], frame["modified_at"] = _dates(rng, as_of, n, 1800, 30, 700)
    return frame


def _unique_emails(local: list[str], domains: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for loc, dom in zip(local, domains, strict=True):
        addr = f"{loc}@{dom}"
        k = seen.get(addr, 0)
        seen[addr] = k + 1
        out.append(addr if k == 0 else f"{loc}{k + 1}@{dom}")
    return out


def company_domain(name: str, tld: str) -> str:
    """`Müller GmbH` → `muller.de`."""
    return f"{ascii_fold(basename(name))[:24] or 'company'}.{tld}"


TEAMS = ("Enterprise Sales", "Mid-Market Sales", "SMB Sales", "Customer Success")


def users(rng, pools: Pools, n: int, as_of: datetime) -> pd.DataFrame:
    """Sales users who own records; the last three are inactive (left the company)."""
    us = pools.first["US"], pools.last["US"]
    first = us[0][rng.permutation(len(us[0]))[:n]]
    last = us[1][rng.permutation(len(us[1]))[:n]]
    created, modified = _dates(rng, as_of, n, 2500, 400, 300)
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "first_name": first, "last_name": last,
        "email": [f"{ascii_fold(f)}.{ascii_fold(s)}@cleancrm-demo.com" for f, s in zip(first, last, strict=True)],
        "is_active": [1] * (n - 3) + [0] * 3,
        "team": [TEAMS[i % len(TEAMS)] for i in range(n)],  # by position: the other columns' draws stay the same
        "created_at": created, "modified_at": modified,
    })


def accounts(rng, pools: Pools, n: int, as_of: datetime, owners: np.ndarray) -> pd.DataFrame:
    """Companies with a unique name (after legal suffixes), address and switchboard phone."""
    shares = np.array([c.share for c in COUNTRIES])
    idx = rng.choice(len(COUNTRIES), n, p=shares / shares.sum())
    rows = []
    used: dict[str, int] = {c.code: 0 for c in COUNTRIES}
    for ci in idx:
        country = COUNTRIES[ci]
        pool = pools.companies[country.code]
        k = used[country.code]
        used[country.code] += 1
        name = pool[k % len(pool)] if k < len(pool) else f"{pool[k % len(pool)]} {k // len(pool) + 1}"
        city = country.cities[rng.integers(0, len(country.cities))]
        rows.append((name, country, city))
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "name": [r[0] for r in rows],
        "website": [f"https://www.{company_domain(r[0], r[1].company_tld)}" for r in rows],
        "city": [r[2].name for r in rows],
        "state": [r[2].state for r in rows],
        "country": [r[1].code for r in rows],
    })
    frame["postal_code"] = [_postal(rng, r[2], 1)[0] for r in rows]
    frame["phone"] = [valid_phones(rng, r[1], r[2], 1)[0] for r in rows]
    frame["owner_id"] = owners[rng.integers(0, len(owners), n)]
    frame["created_at"], frame["modified_at"] = _dates(rng, as_of, n, 2400, 400, 600)
    frame["deleted"] = 0
    frame["domain"] = [company_domain(r[0], r[1].company_tld) for r in rows]
    return frame


def contacts(rng, pools: Pools, n: int, as_of: datetime, accts: pd.DataFrame, owners: np.ndarray) -> pd.DataFrame:
    """People working at the accounts, most with a corporate email address."""
    acct_idx = rng.integers(0, len(accts), n)
    frame = people(rng, pools, n, as_of, company_domains=accts.domain.to_numpy()[acct_idx])
    frame.insert(0, "id", np.arange(1, n + 1))
    frame["title"] = np.array(TITLES, dtype=object)[rng.integers(0, len(TITLES), n)]
    # The team's function and seniority fields, filled as the title reads (the enrichment check's table).
    profiles = {title: job_profile(title) for title in TITLES}
    frame["job_function"] = [profiles[t][0] for t in frame.title]
    frame["seniority"] = [profiles[t][1] for t in frame.title]
    frame["account_id"] = accts.id.to_numpy()[acct_idx]
    frame["owner_id"] = owners[rng.integers(0, len(owners), n)]
    frame["street"] = [f"{rng.integers(1, 400)} {s}" for s in
                       np.array(["Main Street", "High Street", "Market Square", "Park Avenue", "Station Road",
                                 "Church Lane", "Harbour View", "Mill Road"])[rng.integers(0, 8, n)]]
    frame["deleted"] = 0
    return frame


def leads(rng, pools: Pools, n: int, as_of: datetime, owners: np.ndarray) -> pd.DataFrame:
    """Prospects; open ones (New, Working) were all touched within the last three weeks."""
    frame = people(rng, pools, n, as_of)
    frame.insert(0, "id", np.arange(1, n + 1))
    comp = [pools.companies[c][rng.integers(0, len(pools.companies[c]))] for c in frame.country]
    frame["company"] = comp
    tlds = {c.code: c.company_tld for c in COUNTRIES}
    frame["website"] = [f"https://www.{company_domain(name, tlds[c])}" for name, c in zip(comp, frame.country,
                                                                                         strict=True)]
    statuses = np.array(LEAD_OPEN_STATUSES + LEAD_CLOSED_STATUSES, dtype=object)
    frame["status"] = statuses[rng.integers(0, len(statuses), n)]
    open_ = frame.status.isin(LEAD_OPEN_STATUSES).to_numpy()
    recent = pd.Timestamp(as_of) - pd.to_timedelta(rng.integers(DAY, 21 * DAY, n), unit="s")
    frame.loc[open_, "modified_at"] = recent[open_]
    frame["created_at"] = frame[["created_at", "modified_at"]].min(axis=1)
    frame["owner_id"] = owners[rng.integers(0, len(owners), n)]
    frame["converted"] = 0
    frame["deleted"] = 0
    return frame


def opportunities(rng, n: int, as_of: datetime, accts: pd.DataFrame, owners: np.ndarray) -> pd.DataFrame:
    """Deals: closed ones have a close date after creation, open ones close in the future."""
    acct = rng.integers(0, len(accts), n)
    stages = np.array(OPEN_STAGES + (WON, LOST), dtype=object)
    stage = stages[rng.integers(0, len(stages), n)]
    created, modified = _dates(rng, as_of, n, 900, 40, 300)
    closed = np.isin(stage, (WON, LOST))
    close = np.where(
        closed,
        (created + pd.to_timedelta(rng.integers(5, 30, n), unit="D")).dt.normalize(),
        (pd.Timestamp(as_of) + pd.to_timedelta(rng.integers(10, 180, n), unit="D")).normalize(),
    )
    amount = np.round(rng.lognormal(9.5, 0.8, n), 2)
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "name": [f"{accts.name.iat[a]} - {PRODUCTS[rng.integers(0, len(PRODUCTS))]}" for a in acct],
        "account_id": accts.id.to_numpy()[acct],
        "stage": stage,
        "amount": amount,
        "close_date": pd.to_datetime(close).date,
        "owner_id": owners[rng.integers(0, len(owners), n)],
        "created_at": created, "modified_at": modified,
        "deleted": 0,
    })
