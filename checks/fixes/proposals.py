"""Fix proposals: a run's findings judged again against the CRM as it is now, as values to write.

The records with findings of checks whose suggestion is a value (`Check.fix_confidence`) are read
again from the CRM, read-only, and those checks judge them; each suggestion is written into a
working copy of the record, and the checks judge the copy again until none has anything left to
fix (a value fixed by one check can still need another: an email with capitals and a mistyped
domain). The confident checks go first; what the others add on top is proposed for review. Then
every row check judges the fixed copy: a record that its fixes would make fail a check it passed
goes to review, never to the apply file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from checks.base import Context
from checks.config import Config
from checks.engine.keyed import read_by_keys
from checks.engine.plan import Planned, plan
from checks.fields import reset_memo
from connectors.mapping import KEY, EntityQuery, plain_columns
from connectors.source import Source

DEFAULT_MIN_CONFIDENCE = 0.8
MAX_ROUNDS = 4  # each round can only fix what the round before changed; real chains are two or three long

# What became of a finding in a package.
APPLY, REVIEW, STALE, NO_FIX, ADVICE = "apply", "review", "fixed since the run", "no value to propose", "advice only"


@dataclass
class Change:
    """One column of one record: the value read now and the value proposed, with who proposed it and why."""

    entity: str
    record_key: str
    field: str
    column: str
    current: object
    proposed: object
    checks: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    confidence: float = 1.0
    review: str | None = None  # why it is for review; None: it goes into the apply file


@dataclass
class EntityFixes:
    """The proposals for one entity, and what became of each of its findings."""

    entity: str
    table: str
    key_column: str
    changes: list[Change]
    outcomes: pd.DataFrame  # check_id, record_key, outcome


def propose(cfg: Config, source: Source, worklist: pd.DataFrame, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
            now: datetime | None = None) -> list[EntityFixes]:
    """Proposals for the findings of `worklist` (rows of `checks.app.export.build_worklist`), per entity."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    planned = plan(cfg)
    out = []
    for entity, rows in worklist.groupby("entity", sort=True):
        out.append(_EntityProposer(cfg, source, str(entity), [p for p in planned if p.entity == entity], now)
                   .propose(rows, min_confidence))
    return out


def is_fixer(p: Planned) -> bool:
    """Whether the check proposes values a package may write: a row check with a fix confidence, no look-ups."""
    return p.check.fix_confidence is not None and p.check.scope == "row" and not p.check.lookups


class _EntityProposer:
    """Reads an entity's targeted records and lets its checks fix a working copy of them."""

    def __init__(self, cfg: Config, source: Source, entity: str, planned: list[Planned], now: datetime):
        self.cfg, self.source, self.entity, self.now = cfg, source, entity, now
        self.ent = cfg.entities[entity]
        self.query = EntityQuery(source, entity, self.ent)
        # Judges: the row checks that can judge a record on its own (no other entity, no other run).
        self.judges = [p for p in planned if p.check.scope == "row" and not p.check.lookups
                       and not p.check.compares_previous]
        self.fixers = {p.check.id: p for p in self.judges if is_fixer(p)}

    # -- reading -------------------------------------------------------------------------------
    def _read(self, keys: list[str]) -> tuple[pd.DataFrame, dict[str, list]]:
        """The live records with these keys, as the checks read them, and the columns of each field."""
        mapped = list(self.ent.mapped())
        fields = set(self.ent.required) | {"owner_id"} & set(mapped)
        for p in self.judges:
            fields |= set(p.check.needed_fields(mapped)) | set(p.check.read_fields(mapped, p.params))
        frame, cols = read_by_keys(self.source, self.query, sorted(fields), keys)
        columns: dict[str, list] = {}
        for fc in cols:
            columns.setdefault(fc.field, []).append(fc)
        return frame, columns

    def _writable(self, columns: dict[str, list]) -> dict[str, str | None]:
        """Frame label → why a fix cannot be written there (None: a plain text column of the table)."""
        types = self.source.column_types(self.ent.table)
        out: dict[str, str | None] = {}
        for name, fcs in columns.items():
            mapping = self.ent.fields.get(name, self.ent.custom_fields.get(name))
            plain = set(plain_columns(mapping)) if mapping is not None else set()
            for fc in fcs:
                if fc.column not in plain:
                    out[fc.label] = f"{name} is computed or joined, not a column of {self.ent.table}; set it in the CRM"
                    continue
                try:
                    python_type = types[fc.column].python_type
                except (KeyError, NotImplementedError):
                    python_type = str
                out[fc.label] = None if python_type is str else (
                    f"{self.ent.table}.{fc.column} is a {python_type.__name__} column: the text fix cannot be stored "
                    "there; change the column's type in the CRM")
        return out

    # -- judging -------------------------------------------------------------------------------
    def _failures(self, frame: pd.DataFrame, checks: list[Planned], columns) -> pd.DataFrame:
        """The failures of `checks` on `frame`, each with its check id."""
        parts = []
        for p in checks:
            reset_memo()
            fails = p.check.evaluate(frame, self._context(p, columns)).failures
            if len(fails):
                parts.append(fails.assign(check_id=p.check.id))
        reset_memo()
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["record_key", "field", "column_name", "reason", "suggestion", "check_id"])

    def _context(self, p: Planned, columns) -> Context:
        return Context(self.entity, self.now, columns, p.params, {"aggregates": {}, "decisions": {}, "previous": {}})

    def _fix_rounds(self, working: pd.DataFrame, fixers: list[Planned], targeted: dict[str, set[str]], columns,
                    blocked: dict[str, str | None], history: dict[tuple[str, str], Change],
                    unwritable: dict[tuple[str, str], Change]) -> None:
        """Let `fixers` fix `working` in place until nothing changes; record each change in `history`.

        A fix for a column the package cannot write goes into `unwritable`, with the reason, for review.
        """
        row_of = {k: i for i, k in enumerate(working[KEY].tolist())}
        fc_of = {fc.label: fc for fcs in columns.values() for fc in fcs}
        for _ in range(MAX_ROUNDS):
            changed = False
            for p in fixers:
                keys = targeted.get(p.check.id, set())
                ctx = self._context(p, columns)
                fails = self._failures(working, [p], columns)
                for failure in fails[fails.record_key.isin(keys)].to_dict("records"):
                    row = row_of[failure["record_key"]]
                    for label, value in p.check.fix_changes(failure, working.iloc[row], ctx).items():
                        if value is None or value != value or value == working.at[row, label]:
                            continue
                        fc = fc_of[label]
                        if blocked.get(label):
                            unwritable.setdefault((failure["record_key"], label), Change(
                                self.entity, failure["record_key"], fc.field, fc.column, working.at[row, label],
                                value, [p.check.id], [str(failure["reason"])], p.check.fix_confidence,
                                blocked[label]))
                            continue
                        change = history.setdefault((failure["record_key"], label), Change(
                            self.entity, failure["record_key"], fc.field, fc.column, working.at[row, label], None))
                        if p.check.id not in change.checks:
                            change.checks.append(p.check.id)
                            change.reasons.append(str(failure["reason"]))
                        change.confidence = min(change.confidence, p.check.fix_confidence)
                        change.proposed = value
                        working.at[row, label] = value
                        changed = True
            if not changed:
                return

    def propose(self, rows: pd.DataFrame, min_confidence: float) -> EntityFixes:
        """The changes for the entity's findings in `rows`, and what became of each finding."""
        outcome = {(c, k): ADVICE for c, k in zip(rows.check_id, rows.record_id.astype(str), strict=True)}
        targeted: dict[str, set[str]] = {}
        for c, k in outcome:
            if c in self.fixers:
                targeted.setdefault(c, set()).add(k)
        changes: list[Change] = []
        keys = sorted({k for ks in targeted.values() for k in ks})
        if keys:
            frame, columns = self._read(keys)
            blocked = self._writable(columns)
            original = frame.astype({label: object for label in blocked if label in frame})
            now_failing = self._failures(original, self.judges, columns)
            failing_now = set(zip(now_failing.check_id, now_failing.record_key, strict=True))
            for c, ks in targeted.items():
                for k in ks:
                    outcome[(c, k)] = NO_FIX if (c, k) in failing_now else STALE
            ranked = sorted(self.fixers.values(), key=lambda p: -p.check.fix_confidence)
            confident = [p for p in ranked if p.check.fix_confidence >= min_confidence]
            doubtful = [p for p in ranked if p.check.fix_confidence < min_confidence]
            working = original.copy()
            applied: dict[tuple[str, str], Change] = {}
            unwritable: dict[tuple[str, str], Change] = {}
            self._fix_rounds(working, confident, targeted, columns, blocked, applied, unwritable)
            self._review_new_failures(working, original, columns, failing_now, applied)
            # What the doubtful checks would add on top of the confident fixes: for review only.
            reviewed: dict[tuple[str, str], Change] = {}
            self._fix_rounds(working, doubtful, targeted, columns, blocked, reviewed, unwritable)
            for key, change in reviewed.items():
                if key in applied:  # the doubtful check changed a value a confident one had fixed
                    first = applied.pop(key)
                    change.current = first.current
                    change.checks, change.reasons = first.checks + change.checks, first.reasons + change.reasons
                change.review = change.review or (f"confidence {change.confidence:.2f} is below "
                                                  f"{min_confidence:.2f}")
            changes = list(applied.values()) + list(reviewed.values()) + list(unwritable.values())
            for change in changes:
                for c in change.checks:
                    if outcome.get((c, change.record_key)) != REVIEW:
                        outcome[(c, change.record_key)] = REVIEW if change.review else APPLY
        outcomes = pd.DataFrame([(c, k, o) for (c, k), o in outcome.items()],
                                columns=["check_id", "record_key", "outcome"])
        return EntityFixes(self.entity, self.ent.table, self.ent.key, changes, outcomes)

    def _review_new_failures(self, working, original, columns, failing_now: set, applied: dict) -> None:
        """A record whose fixes make a check fail that it passes now: all of its changes to review."""
        touched = {k for k, _ in applied}
        if not touched:
            return
        after = self._failures(working, self.judges, columns)
        after = after[after.record_key.isin(touched)]
        by_record: dict[str, list[Change]] = {}
        for (key, _), change in applied.items():
            by_record.setdefault(key, []).append(change)
        for c, k, reason in zip(after.check_id, after.record_key, after.reason, strict=True):
            if (c, k) in failing_now:
                continue
            for change in by_record[k]:
                change.review = change.review or f"the fix would fail {c} ({reason})"
