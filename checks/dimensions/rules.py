"""The team's own rules (`entities.<e>.rules` in the config), each run as a check of its own.

A rule is one instance of `Rule`, planned like a built-in check under the id `rule.<id>`: it is
scored in its dimension, its findings carry the record, the value, a reason and, where one can be
derived, a fix; the drill-down, worklists, compare and alerts read them like any other. The kinds:

- `allowed_values`: the value is one of a picklist; near-misses (case, spaces, a typo of one
  value) get the canonical spelling as their fix;
- `pattern`: the whole value matches a regular expression;
- `range`: a number or a date within bounds (`min`/`max` inclusive, `above`/`below` strict,
  dates relative to the run such as `now - 10 years`);
- `required`, `required_if`: the field is filled (on the records `when` selects);
- `compare`: one field against another (`close_date >= created_at`);
- `unique`: no two records share the values of `fields` (normalised);
- `reference`: the value is found in another table's column;
- `sql`: a read-only query of the team's returns the keys of the failing records.

Each rule may carry `when:` (`checks.conditions`); values of other kinds than the one it judges
are not its business: an empty value passes every rule but `required`, which judges only that.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from checks.base import Check, Outcome, failures
from checks.conditions import (
    compared_values,
    near_miss,
    normal_text,
    normal_value,
    parse_bound,
    when_mask,
    within,
)
from checks.fields import shown, usable
from checks.settled import filled_text, missing_text
from checks.values import as_keys, map_distinct, missing_values, to_datetime
from connectors.mapping import KEY
from connectors.models import RuleConfig
from connectors.source.predicates import All, Compares, FoldedNotIn, OneOf

DEFAULT_DIMENSION = {"allowed_values": "accuracy", "pattern": "accuracy", "range": "accuracy",
                     "required": "completeness", "required_if": "completeness", "compare": "consistency",
                     "unique": "duplication", "reference": "consistency", "sql": "accuracy"}
_SYMBOLS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal,
            "!=": np.not_equal}
_SAID = {">=": "on or after", ">": "after", "<=": "on or before", "<": "before", "==": "equal to",
         "!=": "different from"}


class Rule(Check):
    """A rule of the team's own, from the config; its description says what it wants."""

    def __init__(self, entity: str, rule: RuleConfig):
        self.rule = rule
        self.id = f"rule.{rule.id}"
        self.kind = rule.kind
        self.dimension = rule.dimension or DEFAULT_DIMENSION[rule.kind]
        self.entities = (entity,)
        judged = [rule.field] if rule.field else []
        judged += (rule.fields or []) + ([rule.other] if rule.other else [])
        self.fields = tuple(dict.fromkeys(judged))
        self.extra_fields = tuple(f for f in (rule.when or {}) if f not in self.fields)
        self.severity, self.weight = rule.severity, rule.weight
        self.scope = "entity" if rule.kind == "unique" else "row"
        self.lookups = ("rule_keys",) if rule.kind in ("reference", "sql") else ()
        # A near-miss of a picklist value (case, spaces, one typo) is fixed to the listed value.
        self.fix_confidence = 0.9 if rule.kind == "allowed_values" else None
        field = rule.field or ", ".join(rule.fields or [])
        self.advice = {"required": f"fill in {field}", "required_if": f"fill in {field}",
                       "allowed_values": f"choose one of the allowed {field} values",
                       "pattern": f"correct {field} to the expected form", "range": f"correct {field}",
                       "compare": f"correct {field} or {rule.other}",
                       "reference": f"link {field} to an existing record, or clear it",
                       "sql": rule.description}.get(rule.kind)
        self.description = rule.description or f"{rule.kind} rule on {', '.join(self.fields) or entity}"

    def settled(self, ctx):  # noqa: D102
        """Where the database may settle a record: filled, listed, or within bounds, as the kind asks.

        Required kinds settle a filled value, allowed_values a listed one, range a typed number or
        date within its bounds. A settled record must count as applicable as the rule counts it, so its `when` is compiled
        too, as "certainly holds" (`_certainly_holds`). Records it does not settle, whether the
        condition fails or holds in a form SQL cannot tell, go to Python.
        """
        if self.kind not in ("required", "required_if", "allowed_values", "range"):
            return None
        holds = _certainly_holds(self.rule.when, ctx)
        if holds is None:
            return None
        cols = ctx.cols(self.rule.field)
        if self.kind in ("required", "required_if"):
            passes = tuple(p for fc in cols for p in filled_text(fc.label))
        elif self.kind == "allowed_values":
            listed = tuple(v for v in self.rule.values if not missing_values(pd.Series([v], dtype=object))[0])
            passes = tuple(OneOf(fc.label, listed) for fc in cols)
        else:
            bounds = {k: parse_bound(getattr(self.rule, k)) for k in _OPS if getattr(self.rule, k) is not None}
            per_column = [_bounded(fc.label, bounds, ctx.now) for fc in cols]
            if not bounds or any(c is None for c in per_column):
                return None
            passes = tuple(p for c in per_column for p in c)
        return All(holds + passes), len(cols)

    def evaluate(self, frame, ctx):  # noqa: D102
        labels = {f: ctx.cols(f)[0].label for f in (*self.fields, *self.extra_fields) if ctx.cols(f)}
        selected = when_mask(frame, labels, self.rule.when, ctx.now)
        if self.kind == "sql":
            failing = ctx.lookup("rule_keys")(self.rule.id)
            bad = selected & as_keys(frame[KEY]).isin(failing)
            reason = self.rule.description or f"returned by the SQL of rule {self.rule.id}"
            return Outcome(int(selected.sum()), failures(frame, bad, None, None, reason))
        if self.kind == "unique":
            return self._unique(frame, ctx, selected)
        parts = []
        for fc in ctx.cols(self.rule.field):
            judge = getattr(self, f"_{self.kind}")
            applicable, bad, reason, fix = judge(frame, fc, ctx, selected)
            parts.append(Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason, fix)))
        return Outcome.combine(parts)

    # -- the kinds: each gives (applicable, failing, reason, fix) for one column ------------------------
    def _required(self, frame, fc, ctx, selected):
        bad = selected & ~usable(frame, fc)
        condition = f" when {_said_when(self.rule.when)}" if self.rule.when else ""
        return selected, bad, f"{fc.field} is missing{condition}", None

    _required_if = _required

    def _allowed_values(self, frame, fc, ctx, selected):
        present = selected & usable(frame, fc)
        exact = set(self.rule.values)
        values = frame[fc.label]
        allowed = map_distinct(values.astype(object), lambda v: str(v) in exact).fillna(False).astype(bool)
        bad = present & ~allowed
        fixes = map_distinct(values.where(bad, None).astype(object), lambda v: near_miss(str(v), self.rule.values))
        reason = pd.Series(f"{fc.field} is not one of the allowed values", index=frame.index, dtype=object)
        near = fixes.notna()
        reason[near] = f"{fc.field} is an allowed value written differently"
        return present, bad, reason, fixes

    def _pattern(self, frame, fc, ctx, selected):
        present = selected & usable(frame, fc)
        compiled = re.compile(self.rule.regex)
        matches = map_distinct(frame[fc.label].astype(object), lambda v: compiled.fullmatch(str(v)) is not None)
        bad = present & ~matches.fillna(False).astype(bool)
        return present, bad, f"{fc.field} does not match the pattern {self.rule.regex}", None

    def _range(self, frame, fc, ctx, selected):
        present = selected & usable(frame, fc)
        bounds = {k: parse_bound(getattr(self.rule, k)) for k in ("min", "max", "above", "below")
                  if getattr(self.rule, k) is not None}
        as_dates = any(b.is_date for b in bounds.values())
        values = compared_values(frame[fc.label], as_dates)
        inside = pd.Series(True, index=frame.index)
        for test, bound in bounds.items():
            inside &= within(values, test, bound.at(ctx.now))
        bad = present & ~inside
        unreadable = present & values.isna()
        kind = "date" if as_dates else "number"
        reason = pd.Series(f"{fc.field} is not {_said_range(bounds, ctx.now)}", index=frame.index, dtype=object)
        reason[unreadable] = f"{fc.field} is not a {kind}"
        return present, bad, reason, None

    def _compare(self, frame, fc, ctx, selected):
        other = ctx.cols(self.rule.other)[0]
        a_raw, b_raw = frame[fc.label], frame[other.label]
        both = selected & usable(frame, fc) & usable(frame, other)
        numbers = compared_values(a_raw, False), compared_values(b_raw, False)
        as_dates = not (numbers[0][both].notna().all() and numbers[1][both].notna().all())
        a, b = (compared_values(a_raw, True), compared_values(b_raw, True)) if as_dates else numbers
        readable = both & a.notna() & b.notna()
        holds = pd.Series(np.asarray(_SYMBOLS[self.rule.op](a.where(readable), b.where(readable)), dtype=bool),
                          index=frame.index)
        bad = both & ~(readable & holds)
        reason = pd.Series(f"{fc.field} is not {_SAID[self.rule.op]} {self.rule.other}", index=frame.index,
                           dtype=object)
        reason[both & ~readable] = f"{fc.field} or {self.rule.other} cannot be read as a {'date' if as_dates else 'number'}"
        return both, bad, reason, None

    def _reference(self, frame, fc, ctx, selected):
        present = selected & usable(frame, fc)
        targets = ctx.lookup("rule_keys")(self.rule.id)
        found = as_keys(frame[fc.label]).isin(targets)
        bad = present & ~found
        return present, bad, f"{fc.field} is not found in {self.rule.to}", None

    def _unique(self, frame, ctx, selected):
        cols = [ctx.cols(f)[0] for f in self.rule.fields]
        filled = selected.copy()
        for fc in cols:
            filled &= usable(frame, fc)
        key = pd.Series("", index=frame.index, dtype=object)
        for fc in cols:
            key = key + "\x1f" + normal_text(frame[fc.label]).fillna("")
        created = ctx.cols("created_at")
        order = frame.assign(__rule_key=key, __as_text=as_keys(frame[KEY]))
        sort = (["__created"] if created else []) + ["__as_text"]
        if created:
            order["__created"] = to_datetime(frame[created[0].label])
        order = order[filled.to_numpy()].sort_values(sort, kind="stable", na_position="last")
        first = order.groupby("__rule_key", sort=False)["__as_text"].transform("first")
        repeat = order["__as_text"] != first
        bad = pd.Series(False, index=frame.index)
        bad[repeat[repeat].index] = True
        fix = pd.Series(None, index=frame.index, dtype=object)
        fix[repeat[repeat].index] = "merge with " + first[repeat]
        fc = cols[0]
        names = " and ".join(self.rule.fields)
        reason = pd.Series(None, index=frame.index, dtype=object)
        reason[repeat[repeat].index] = f"{names} the same as record " + first[repeat]
        return Outcome(int(filled.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason, fix))


_OPS = {"above": ">", "below": "<", "min": ">=", "max": "<="}
_TRUE, _FALSE = ("1", "true", "t", "yes", "y"), ("0", "false", "f", "no", "n")  # as the CRM writes flags


def _certainly_holds(when: dict | None, ctx) -> tuple | None:
    """Predicates under which `when` certainly holds, as Python reads it (`conditions.when_mask`); () without one.

    A value or a list holds for the value written exactly so; a flag for its usual spellings in
    lower case; `not` for printable ASCII text folded as Python folds it; `filled` for a filled value
    or a blank or null token as written; bounds for a typed number or date. What a predicate leaves
    out goes to Python. None when a condition cannot be stated at all (a mix of number and date bounds).
    """
    parts = []
    for name, test in (when or {}).items():
        if not ctx.cols(name):
            return None
        label = ctx.cols(name)[0].label
        if isinstance(test, bool):
            parts.append(OneOf(label, _TRUE if test else _FALSE))
        elif not isinstance(test, dict):
            values = test if isinstance(test, list) else [test]
            if any(isinstance(v, (dict, list, bool)) or v is None for v in values):
                return None
            parts.append(OneOf(label, tuple(str(v) for v in values)))
        else:
            if "not" in test:
                excluded = test["not"] if isinstance(test["not"], list) else [test["not"]]
                parts.append(FoldedNotIn(label, tuple(normal_value(v) for v in excluded)))
            if "filled" in test:
                parts += list(filled_text(label)) if test["filled"] else [missing_text(label)]
            bounds = {k: parse_bound(test[k]) for k in _OPS if k in test}
            compares = _bounded(label, bounds, ctx.now)
            if compares is None:
                return None
            parts += compares
    return tuple(parts)


def _bounded(label: str, bounds: dict, now) -> list | None:
    """`Compares` predicates for bounds (by test name), all numbers or all dates; None for a mix."""
    if len({b.is_date for b in bounds.values()}) > 1:
        return None
    out = []
    for test, bound in bounds.items():
        value = bound.at(now)
        out.append(Compares(label, _OPS[test], value.to_pydatetime() if isinstance(value, pd.Timestamp) else value))
    return out


def _said_when(when: dict) -> str:
    return " and ".join(f"{name} is {value}" for name, value in when.items())


def _said_range(bounds: dict, now) -> str:
    words = {"min": "at least", "max": "at most", "above": "above", "below": "below"}
    shown_bounds = []
    for test, bound in bounds.items():
        value = bound.at(now)
        text = value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp) else f"{value:g}"
        shown_bounds.append(f"{words[test]} {text}")
    return ", ".join(shown_bounds)

