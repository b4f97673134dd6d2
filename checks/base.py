"""Check, Outcome and the registry: one definition of each check, used by run, drill-down and export.

A check is a small class registered with `@register`. Its docstring says what it measures, when it
fails and gives an example (a test fails when one is missing). `evaluate` receives a DataFrame of
the entity's records (the key in `__key`, one column per mapped field value) and returns how many
values were applicable and a table of failures with a reason and, where one exists, a fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

from connectors.mapping import KEY, FieldColumn
from connectors.source.predicates import Predicate

DIMENSIONS = ("accuracy", "completeness", "consistency", "duplication", "freshness")
# Checks whose findings are values the record's other fields give (country from the phone …): their
# ids start with this, they weigh 0, so they count opportunities and move no score.
ENRICHMENT_PREFIX = "enrichment."
PEOPLE = ("contact", "lead", "user")
FAILURE_COLUMNS = ["record_key", "field", "column_name", "value", "reason", "suggestion"]


@dataclass
class Outcome:
    """What one check found on one entity (or one chunk of it)."""

    applicable: int
    failures: pd.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)
    clusters: tuple[pd.DataFrame, pd.DataFrame] | None = None  # duplicate clusters and their members

    @staticmethod
    def empty() -> Outcome:
        """No applicable values, no failures."""
        return Outcome(0, pd.DataFrame(columns=FAILURE_COLUMNS))

    def merge(self, other: Outcome) -> Outcome:
        """Add another chunk's (or column's) outcome."""
        return Outcome.combine([self, other])

    @staticmethod
    def combine(parts: list[Outcome]) -> Outcome:
        """One outcome from several chunks: counts added, failures stacked, `sum_` metrics added."""
        if not parts:
            return Outcome.empty()
        frames = [p.failures for p in parts if len(p.failures)]
        failures = pd.concat(frames, ignore_index=True) if frames else parts[0].failures
        metrics: dict[str, Any] = {}
        for p in parts:
            for k, v in p.metrics.items():
                metrics[k] = metrics.get(k, 0) + v if k.startswith("sum_") else v
        return Outcome(sum(p.applicable for p in parts), failures, metrics)


def failures(frame: pd.DataFrame, mask: pd.Series, fc: FieldColumn | None, values: pd.Series | None,
             reason: str | pd.Series, suggestion: pd.Series | str | None = None) -> pd.DataFrame:
    """The failure table for rows of `frame` where `mask` holds.

    Only the failing rows are converted: checks pass whole-column reasons and values, and most
    rows pass.
    """
    picked = _aligned(mask, frame).fillna(False).to_numpy(dtype=bool)
    n = int(picked.sum())
    if not n:
        return pd.DataFrame(columns=FAILURE_COLUMNS)

    def pick(v, as_text=False):
        if not isinstance(v, pd.Series):
            return [v] * n
        out = [None if x is None or x is pd.NA or x != x else x
               for x in _aligned(v, frame).to_numpy(dtype=object)[picked]]
        return [x if x is None or type(x) is str else str(x) for x in out] if as_text else out

    return pd.DataFrame({
        "record_key": frame[KEY].to_numpy(dtype=object)[picked],
        "field": fc.field if fc else None,
        "column_name": fc.column if fc else None,
        "value": pick(values, as_text=True) if values is not None else None,
        "reason": pick(reason),
        "suggestion": pick(suggestion),
    })


def _aligned(series: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """`series` in the frame's row order (checks derive their Series from the frame, so usually as is)."""
    if series.index is frame.index or series.index.equals(frame.index):
        return series
    return series.reindex(frame.index)


def per_column(columns: list[FieldColumn], frame: pd.DataFrame, build) -> Outcome:
    """One outcome over several columns of a field: `build(fc)` gives (applicable mask, failures)."""
    parts = []
    for fc in columns:
        applicable, fails = build(fc)
        parts.append(Outcome(int(applicable.sum()), fails))
    return Outcome.combine(parts)


@dataclass
class Context:
    """What a check may know besides its records: the time, the mapping, settings, other entities."""

    entity: str
    now: datetime
    columns: dict[str, list[FieldColumn]]
    params: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def cols(self, name: str) -> list[FieldColumn]:
        """The frame columns holding canonical field `name` (several for a list of columns)."""
        return self.columns.get(name, [])

    def lookup(self, name: str):
        """A look-up of other entities the check declared in its `lookups` (live keys, inactive users …)."""
        if name not in self.shared:
            raise KeyError(f"look-up {name!r} is not available here; declare it in the check's `lookups`")
        return self.shared[name]

    def param(self, name: str, default):
        """A check parameter from the config, or its default."""
        return self.params.get(name, default)


class Check:
    """Base class of all checks. Subclasses set the class attributes and implement `evaluate`."""

    id: ClassVar[str]
    dimension: ClassVar[str]
    entities: ClassVar[tuple[str, ...]]
    fields: ClassVar[tuple[str, ...]]
    any_field: ClassVar[bool] = False  # applies when any one of `fields` is mapped, not all
    severity: ClassVar[str] = "medium"
    weight: ClassVar[float] = 1.0
    scope: ClassVar[str] = "row"  # "row": chunk by chunk; "entity": the whole entity at once
    # Entity checks answered from the table's SQL aggregate alone need none of its records read.
    reads_records: ClassVar[bool] = True
    extra_fields: ClassVar[tuple[str, ...]] = ()  # read when mapped, never required
    # Entity checks with `chunk_keys`: the fields their entity pass reads besides the keys.
    entity_fields: ClassVar[tuple[str, ...]] = ()
    # Named look-ups of other entities the check reads through `Context.lookup` (checks.engine.lookups).
    lookups: ClassVar[tuple[str, ...]] = ()
    # The parameters it reads from `checks.<id>.params`, name → type (e.g. {"days": int}); a run is
    # refused when it is planned if the config gives another name or a value of another type.
    params: ClassVar[dict[str, Any]] = {}
    # Entity checks comparing this run with the previous one read their own metrics of the newest
    # completed run from `Context.shared["previous"][id][entity]` (the engine reads them first).
    compares_previous: ClassVar[bool] = False
    # How sure the check is that its suggestion is the value the field should hold (0–1); None when
    # its suggestion is advice for a person (merge, follow up), not a value a fix package may write.
    fix_confidence: ClassVar[float | None] = None
    # What a steward does about a failure the check proposes no value for (shown as its suggested fix).
    advice: ClassVar[str | None] = None

    def fix_changes(self, failure: dict[str, Any], record: pd.Series, ctx: Context) -> dict[str, Any]:
        """The values a fix package writes for one failure: frame column label → new value.

        `failure` is a row of the check's failures, `record` the record's current values by frame
        label. By default the suggestion goes into the failing column; a check whose fix moves
        values between columns (swapped names) says so here.
        """
        suggestion = failure.get("suggestion")
        if suggestion is None or suggestion != suggestion:  # none, or NaN where frames were stacked
            return {}
        labels = [fc.label for fcs in ctx.columns.values() for fc in fcs
                  if fc.field == failure["field"] and fc.column == failure["column_name"]]
        return {labels[0]: suggestion} if labels else {}

    def applies_to(self, entity: str, mapped: Iterable[str]) -> bool:
        """Whether the check can run on this entity with these mapped fields."""
        mapped = set(mapped)
        if entity not in self.entities:
            return False
        have = [f in mapped for f in self.fields]
        return any(have) if self.any_field else all(have)

    def unmet(self, mapped: Iterable[str]) -> str:
        """The fields that keep the check from an entity with these mapped fields, as `cleancrm checks` says it."""
        missing = [f for f in self.fields if f not in set(mapped)]
        return (" or " if self.any_field else " and ").join(missing)

    def needed_fields(self, mapped: Iterable[str]) -> list[str]:
        """Fields to read for this check."""
        mapped = set(mapped)
        return [f for f in (*self.fields, *self.extra_fields) if f in mapped]

    def reported_fields(self, mapped: Iterable[str], params: dict[str, Any]) -> list[str]:
        """The fields its result is reported under (`check_results.fields`): what it reads, by default."""
        return self.needed_fields(mapped)

    def read_fields(self, mapped: Iterable[str], params: dict[str, Any]) -> list[str]:
        """The fields the engine reads for it: what it needs, and the config's required or reference fields."""
        return self.needed_fields(mapped)

    def settled(self, ctx: Context) -> tuple[Predicate, int] | None:
        """Row checks: a predicate under which a record certainly passes, and its applicable count then.

        The database counts the records the predicate settles and sends only the others to
        `evaluate`, so the predicate must never hold for a record `evaluate` would fail, and each
        settled record must count as applicable exactly the given number of times (once per
        column, for a check over several). None: every record is judged in Python.
        """
        return None

    def settled_key(self, ctx: Context) -> tuple[tuple, list[tuple[str, str]]] | None:
        """Keyed entity checks: where DuckDB computes the record's duplicate key, and the SQL steps for it.

        A predicate (its parts) under which the key DuckDB computes over the record's columns is
        exactly what `chunk_keys` gives. The engine computes the keys of the other records in
        Python and judges in Python only the records that may share a key; a record with a key no
        other record has passes and counts as applicable. None: every record goes to Python.
        """
        return None

    def chunk_keys(self, frame: pd.DataFrame, ctx: Context) -> pd.Series | None:
        """Entity checks: what each record brings to the entity pass (a normalised duplicate key).

        The engine computes it chunk by chunk with the row checks, in the worker processes and
        with their per-chunk views, so the entity pass itself only groups. None: nothing to prepare.
        """
        return None

    def evaluate(self, frame: pd.DataFrame, ctx: Context) -> Outcome:
        """Measure the records in `frame`."""
        raise NotImplementedError


def prepared_column(check: Check | type[Check]) -> str:
    """The frame column in which the engine hands a check its `chunk_keys`."""
    return f"__keys:{check.id}"


def keys_of(check: Check, frame: pd.DataFrame, ctx: Context) -> pd.Series:
    """A check's chunk keys for `frame`: prepared by the engine, or computed now (one definition)."""
    column = prepared_column(check)
    return frame[column] if column in frame else check.chunk_keys(frame, ctx)


def is_enrichment(check_id: str) -> bool:
    """Whether a check id is an enrichment check's (`ENRICHMENT_PREFIX`): its findings are opportunities."""
    return str(check_id).startswith(ENRICHMENT_PREFIX)


REGISTRY: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    """Add a check class to the registry (ids are unique)."""
    if cls.id in REGISTRY:
        raise ValueError(f"duplicate check id {cls.id}")
    if cls.dimension not in DIMENSIONS:
        raise ValueError(f"{cls.id}: unknown dimension {cls.dimension}")
    REGISTRY[cls.id] = cls
    return cls
