"""Turn raw records into integer-coded, normalised columns ready for blocking and comparison."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from checks import normalise
from checks.dedupe.phonetic import soundex_array
from checks.dedupe.settings import DedupeSettings
from checks.reference import MAIL_PROVIDERS
from checks.values import email_keys

PERSON_ENTITIES = ("contact", "lead")
ACCOUNT_ENTITIES = ("account",)


@dataclass
class Column:
    """A normalised column stored as integer codes into a vocabulary of distinct values.

    Attributes:
        codes: ``int32`` code per record, ``-1`` for missing.
        values: Distinct normalised strings; ``values[codes[i]]`` is record ``i``'s value.
    """

    codes: np.ndarray
    values: np.ndarray

    @property
    def present(self) -> np.ndarray:
        """Boolean mask of records with a value."""
        return self.codes >= 0

    def frequencies(self) -> np.ndarray:
        """Relative frequency of each vocabulary value among records that have one."""
        counts = np.bincount(self.codes[self.codes >= 0], minlength=len(self.values)).astype(float)
        return counts / max(counts.sum(), 1.0)


@dataclass
class Prepared:
    """Normalised view of one entity's records.

    Attributes:
        entity: ``contact``, ``lead`` or ``account``.
        keys: Record keys as an object array.
        records: The caller's frame (index reset), used by survivor selection.
        cols: Normalised columns by internal name.
        timings: Seconds spent per normalisation step.
    """

    entity: str
    keys: np.ndarray
    records: pd.DataFrame
    cols: dict[str, Column] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.keys)

    def has(self, name: str) -> bool:
        """Whether column ``name`` exists and has at least one value."""
        return name in self.cols and bool(self.cols[name].present.any())


def encode(*arrays: np.ndarray) -> list[Column]:
    """Integer-code row-aligned object arrays over one shared vocabulary.

    A shared vocabulary lets first names be compared with last names (swapped names) and
    phones with mobiles by comparing codes.
    """
    lengths = [len(a) for a in arrays]
    joined = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    codes, values = pd.factorize(pd.Series(joined, dtype=object), use_na_sentinel=True)
    codes = codes.astype(np.int32)
    values = np.asarray(values, dtype=object)
    bounds = np.cumsum([0, *lengths])
    return [Column(codes[bounds[k] : bounds[k + 1]], values) for k in range(len(arrays))]


def derive(column: Column, func) -> Column:
    """A new column computed per vocabulary value of ``column`` (e.g. e-mail domain).

    Only the vocabulary is mapped and re-coded; record codes are then translated by
    indexing, so no per-record hashing happens.
    """
    mapped = pd.Series([func(v) for v in column.values], dtype=object)
    vcodes, values = pd.factorize(mapped, use_na_sentinel=True)
    return Column(np.append(vcodes, -1).astype(np.int32)[column.codes], np.asarray(values, dtype=object))


def map_column(values: pd.Series, func) -> Column:
    """Normalise a raw column once per distinct raw value, straight into a :class:`Column`."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    raw = Column(codes.astype(np.int32), np.asarray(uniques, dtype=object))
    return derive(raw, lambda v: None if normalise.is_missing(v) else func(v if isinstance(v, str) else str(v)))


def _raw(records: pd.DataFrame, name: str) -> pd.Series | None:
    return records[name] if name in records.columns else None


def _regions(records: pd.DataFrame) -> np.ndarray:
    country = _raw(records, "country")
    if country is None:
        return np.full(len(records), None, dtype=object)
    return normalise.map_unique(country, normalise.country_code)


def _phones(prep: Prepared, records: pd.DataFrame, regions: np.ndarray, settings: DedupeSettings) -> None:
    raw = [c for c in ("phone", "mobile") if c in records.columns]
    if not raw:
        return
    arrays = [normalise.map_unique_with_region(records[c], regions, settings.phone_fast_path) for c in raw]
    for name, col in zip(raw, encode(*arrays), strict=True):
        prep.cols[name] = col


def _person_names(prep: Prepared, records: pd.DataFrame) -> None:
    first, last = _raw(records, "first_name"), _raw(records, "last_name")
    empty = np.full(len(records), None, dtype=object)
    first_arr = normalise.map_unique(first, normalise.fold_or_none) if first is not None else empty
    last_arr = normalise.map_unique(last, normalise.fold_or_none) if last is not None else empty
    prep.cols["first_name"], prep.cols["last_name"] = encode(first_arr, last_arr)
    prep.cols["first_root"] = derive(prep.cols["first_name"], lambda v: normalise.nickname_root(v.split()[0]))
    vocab = prep.cols["first_name"].values
    sdx = np.append(soundex_array(vocab), None)
    # Shared vocabulary so the swapped-name key can pair first-name codes with last-name codes.
    prep.cols["first_sdx"], prep.cols["last_sdx"] = encode(
        sdx[prep.cols["first_name"].codes], sdx[prep.cols["last_name"].codes]
    )


def _email(prep: Prepared, records: pd.DataFrame, max_share: int) -> None:
    raw = _raw(records, "email")
    if raw is None:
        return
    # The exact-duplicate key of each distinct address (as duplication.exact_email keys it).
    codes, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
    keys = email_keys(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    email = derive(Column(codes.astype(np.int32), keys), lambda v: v)
    # An address on many records is a placeholder nobody listed ("x@company.com"): missing.
    counts = np.bincount(email.codes[email.codes >= 0], minlength=len(email.values))
    shared = counts > max_share
    if shared.any():
        email.codes = np.where((email.codes >= 0) & shared[email.codes], -1, email.codes).astype(np.int32)
    prep.cols["email"] = email
    prep.cols["email_local"] = derive(prep.cols["email"], normalise.email_local)
    prep.cols["email_domain"] = derive(prep.cols["email"], normalise.email_domain)
    # Derived from the (small) domain vocabulary rather than from every address.
    prep.cols["work_domain"] = derive(prep.cols["email_domain"], lambda v: None if v in _MAIL_PROVIDERS else v)


_MAIL_PROVIDERS = frozenset(MAIL_PROVIDERS)


def _simple(prep: Prepared, records: pd.DataFrame, specs: dict[str, tuple[str, object]]) -> None:
    for internal, (source, func) in specs.items():
        raw = _raw(records, source)
        if raw is not None:
            prep.cols[internal] = map_column(raw, func)


ADDRESS_SPECS = {
    "street": ("street", normalise.normalise_street),
    "address_2": ("address_2", normalise.normalise_street),
    "city": ("city", normalise.fold_or_none),
    "state": ("state", normalise.fold_or_none),
    "postal_code": ("postal_code", normalise.normalise_postal),
}


def prepare(records: pd.DataFrame, entity: str, settings: DedupeSettings) -> Prepared:
    """Normalise the records of one entity.

    Args:
        records: Frame with a ``key`` column and any canonical columns.
        entity: ``contact``, ``lead`` or ``account``.
        settings: Pipeline settings.

    Returns:
        The prepared, integer-coded view.
    """
    if "key" not in records.columns:
        raise ValueError("records needs a 'key' column")
    records = records.reset_index(drop=True)
    prep = Prepared(entity, records["key"].astype(str).to_numpy(dtype=object), records)
    regions = _regions(records)
    prep.cols["country"] = encode(regions)[0]
    _phones(prep, records, regions, settings)
    _simple(prep, records, ADDRESS_SPECS)
    if "street" in prep.cols:
        prep.cols["street_no"] = derive(prep.cols["street"], normalise.house_number)
    if entity in ACCOUNT_ENTITIES:
        _simple(prep, records, {"name": ("name", normalise.normalise_company),
                                "website": ("website", normalise.normalise_website)})
        _simple(prep, records, {"name_full": ("name", normalise.fold_or_none)})
    else:
        _person_names(prep, records)
        _email(prep, records, settings.max_email_share)
        _simple(prep, records, {"company": ("company", normalise.normalise_company),
                                "birth_date": ("birth_date", normalise.normalise_date)})
    return prep
