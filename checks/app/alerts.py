"""Alert rules: evaluation against the history store, de-duplication and recovery messages.

Each rule (config `alerts.rules`) is measured from the history store:

- `score_below`: the newest completed run's score for `scope` is below `threshold`.
- `score_drop`: that score fell by at least `threshold` points since the previous completed run
  limited to the same checks (`only`), so a partial run is never compared with a full one.
- `failed_count_above`: more than `threshold` failures for `scope` in the newest completed run
  (enrichment opportunities count only for their own check's scope: they are no failures).
- `run_failed`: the newest finished run of the source failed.
- `heartbeat_stale`: no scheduler of the source has beaten for more than `threshold` minutes.
- `anomaly`: the newest full run's score (or, with `metric: failed`, failing count) for `scope` is
  outside the range learned from the runs before it (`checks.baselines`), with no threshold to set.

A rule that starts firing opens an incident (`store.incidents`), routed to its owner by the
config's `incidents.routes`; the alert names it (and links to it with `dashboard.public_url`), and
a recovery is noted on it. People acknowledge and resolve it on the dashboard.

`scope` is `overall`, a dimension (`completeness`), an entity (`contact`), `entity.dimension`,
`entity.field` (scores only) or a check id (`completeness.required`).

A rule alerts once when it starts firing and once more when it recovers; its state lives in the
history store (`store.alert_state`), so several processes (a scheduler, `cleancrm run` from cron, a
watchdog) never send the same alert twice: a state change is claimed before anything is sent. When
no channel could deliver, the claim is undone and the next evaluation tries again; when at least
one channel delivered, the failures are only logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from checks.app.incidents import incident_link, route_owner
from checks.base import DIMENSIONS, is_enrichment
from checks.baselines import expected_ranges
from checks.config import ENTITY_NAMES, AlertChannel, AlertRule, Config
from connectors.errors import CleanCRMError, ConfigError
from connectors.history import HistoryStore, utcnow
from connectors.notify import Message, NotifyError
from connectors.notify import send as notify_send

log = logging.getLogger("cleancrm.alerts")
Sender = Callable[[AlertChannel, Message], None]
NEEDS_THRESHOLD = ("score_below", "score_drop", "failed_count_above", "heartbeat_stale")
LOOKBACK_RUNS = 50  # completed runs searched for a value of the scope


@dataclass
class Evaluation:
    """What a rule measured: firing (None when history does not tell yet), the value, and why."""

    firing: bool | None
    value: float | None = None
    detail: str = ""
    run_id: int | None = None


@dataclass
class AlertEvent:
    """A state change of a rule, and where its message went."""

    rule: str
    state: str  # "firing" or "recovered"
    message: Message
    delivered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    incident: int | None = None  # the incident it opened, added to, or noted the recovery on


def _check_ids(cfg: Config) -> list[str]:
    """The built-in checks' ids and the config's rules' (`rule.<id>`): what an alert may watch."""
    from checks.dimensions import all_checks

    return [*all_checks(), *(f"rule.{r.id}" for ent in cfg.entities.values() for r in ent.rules)]


def validate_rules(cfg: Config) -> None:
    """Raise ConfigError listing every problem of `alerts` (unknown channel, missing threshold …)."""
    problems: list[str] = []
    seen: set[str] = set()
    dims, checks = DIMENSIONS, None
    for i, rule in enumerate(cfg.alerts.rules):
        where = f"alerts.rules[{i}] ({rule.name})"
        if rule.name in seen:
            problems.append(f"{where}: duplicate rule name; names must be unique (they key the alert state)")
        seen.add(rule.name)
        if rule.kind in NEEDS_THRESHOLD and rule.threshold is None:
            unit = {"heartbeat_stale": "minutes", "failed_count_above": "a count"}.get(rule.kind, "points")
            problems.append(f"{where}.threshold: required for {rule.kind} ({unit})")
        for ch in rule.channels:
            if ch not in cfg.alerts.channels:
                known = ", ".join(cfg.alerts.channels) or "none defined"
                problems.append(f"{where}.channels: no channel {ch!r} under alerts.channels ({known})")
        if rule.kind in ("score_below", "score_drop", "failed_count_above", "anomaly"):
            scope = rule.scope
            head, _, tail = scope.partition(".")
            ok = scope == "overall" or scope in dims or scope in ENTITY_NAMES
            if not ok and head in ENTITY_NAMES and tail:
                # entity.dimension / entity.field are scores
                ok = rule.kind != "failed_count_above" and not (rule.kind == "anomaly" and rule.metric == "failed")
            if not ok:
                checks = checks if checks is not None else _check_ids(cfg)
                ok = scope in checks
            if not ok:
                problems.append(f"{where}.scope: {scope!r} is not `overall`, a dimension ({', '.join(dims)}), "
                                "an entity, entity.dimension, entity.field or a check id (`cleancrm checks` lists them)")
    kinds = AlertRule.model_fields["kind"].annotation.__args__
    for i, route in enumerate(cfg.incidents.routes):
        where = f"incidents.routes[{i}]"
        for key, value, allowed in (("entity", route.entity, ENTITY_NAMES), ("dimension", route.dimension, dims),
                                    ("kind", route.kind, kinds)):
            if value is not None and value not in allowed:
                problems.append(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")
    for name, ch in cfg.alerts.channels.items():
        if ch.type == "webhook" and not ch.url:
            problems.append(f"alerts.channels.{name}.url: required for a webhook channel")
        if ch.type == "email":
            for key in ("smtp_host", "sender"):
                if not getattr(ch, key):
                    problems.append(f"alerts.channels.{name}.{key}: required for an email channel")
            if not ch.recipients:
                problems.append(f"alerts.channels.{name}.recipients: give at least one address")
    if problems:
        raise ConfigError("\n".join(problems))


# -- measuring ------------------------------------------------------------------------------------
def _scope_label(scope: str) -> str:
    return "Overall score" if scope == "overall" else f"Score of {scope}"


def score_of(store: HistoryStore, run_id: int, scope: str) -> float | None:
    """A run's score for `scope` (see module docstring), or None when the run has none."""
    head, _, tail = scope.partition(".")
    if scope in ("overall", *DIMENSIONS, *ENTITY_NAMES) or (head in ENTITY_NAMES and tail):
        scores = store.results.scores(run_id)
        if scope == "overall":
            sel = scores[scores.scope == "overall"]
        elif scope in DIMENSIONS:
            sel = scores[(scores.scope == "dimension") & (scores.dimension == scope)]
        elif scope in ENTITY_NAMES:
            sel = scores[(scores.scope == "entity") & (scores.entity == scope)]
        elif tail in DIMENSIONS:
            sel = scores[(scores.scope == "entity_dimension") & (scores.entity == head) & (scores.dimension == tail)]
        else:
            sel = scores[(scores.scope == "field") & (scores.entity == head) & (scores.field == tail)]
        values = sel.score.dropna()
        return float(values.iloc[0]) if len(values) else None
    results = store.results.check_results(run_id)
    sel = results[results.check_id == scope]
    applicable = int(sel.applicable.sum()) if len(sel) else 0
    if not applicable:
        return None
    failed = int(sel[["failed", "applicable"]].min(axis=1).sum())
    return 100.0 * (1 - failed / applicable)


def failed_count(store: HistoryStore, run_id: int, scope: str) -> int | None:
    """Failures for `scope` in a run: all (`overall`), a dimension's, an entity's or a check's."""
    results = store.results.check_results(run_id)
    if not len(results):
        return None
    if scope not in set(results.check_id):  # a dimension's or an entity's failures are not its opportunities
        results = results[~results.check_id.map(is_enrichment)]
    if scope == "overall":
        sel = results
    elif scope in DIMENSIONS:
        sel = results[results.dimension == scope]
    elif scope in ENTITY_NAMES:
        sel = results[results.entity == scope]
    else:
        sel = results[results.check_id == scope]
    return int(sel.failed.sum()) if len(sel) else None


def _completed(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs.status == "completed"].head(LOOKBACK_RUNS) if len(runs) else runs


def _anomaly(rule: AlertRule, store: HistoryStore, completed: pd.DataFrame) -> Evaluation:
    """Whether the newest run's value of the scope (score or failing count) is outside its learned range.

    The range is learned from the earlier full runs (`checks.baselines`: robust, by weekday where
    that predicts better, drift included); a run limited by `only` measures other things.
    """
    full = completed[completed["only"].fillna("") == ""].iloc[::-1]  # oldest first
    measured = [(row, score_of(store, int(row.id), rule.scope) if rule.metric == "score"
                 else failed_count(store, int(row.id), rule.scope)) for row in full.itertuples()]
    measured = [(row, float(v)) for row, v in measured if v is not None]
    if not measured:
        return Evaluation(None, detail=f"no completed run measured {rule.scope}")
    judged = expected_ranges([v for _, v in measured], [row.as_of for row, _ in measured]).iloc[-1]
    row, value = measured[-1]
    if pd.isna(judged.expected):
        return Evaluation(None, value, f"{len(measured)} runs measured {rule.scope}: too few to learn its range")
    what = _scope_label(rule.scope) if rule.metric == "score" else f"Failing count of {rule.scope}"
    expected = f"expected {judged.low:.4g}–{judged.high:.4g}"
    # Only a move for the worse: a score below its range, a failing count above it (a clean-up is no incident).
    worse = judged.deviation < 0 if rule.metric == "score" else judged.deviation > 0
    if judged.anomaly and worse:
        detail = f"{what} is {value:.4g} in run {row.id}: a {judged.kind} ({expected}, learned from past runs)"
    else:
        detail = f"{what} is {value:.4g} in run {row.id}, within its learned range ({expected})"
    return Evaluation(bool(judged.anomaly and worse), round(value, 4), detail, int(row.id))


def measure(rule: AlertRule, cfg: Config, store: HistoryStore, now: datetime | None = None) -> Evaluation:
    """Measure one rule against the history store (`now` is naive UTC)."""
    now = now or utcnow()
    if rule.kind == "heartbeat_stale":
        beat = store.heartbeats.newest(cfg.name)
        if beat is None:
            return Evaluation(None, detail="no scheduler has reported yet")
        minutes = (now - beat.beat_at).total_seconds() / 60
        firing = minutes > float(rule.threshold)
        detail = (f"the scheduler ({beat.scheduler_id}) has not reported for {minutes:.0f} min "
                  f"(last beat {beat.beat_at:%Y-%m-%d %H:%M} UTC, limit {rule.threshold:g} min)" if firing
                  else f"the scheduler ({beat.scheduler_id}) is reporting again (last beat {beat.beat_at:%H:%M:%S} UTC)")
        return Evaluation(firing, round(minutes, 2), detail)

    runs = store.runs.list(cfg.name)
    if rule.kind == "run_failed":
        finished = runs[runs.status.isin(["completed", "failed"])] if len(runs) else runs
        if not len(finished):
            return Evaluation(None, detail="no finished run yet")
        last = finished.iloc[0]
        run_id = int(last.id)
        if last.status == "failed":
            return Evaluation(True, float(run_id), f"run {run_id} ({last.trigger}) failed: {last.error}", run_id)
        score = "" if pd.isna(last.overall_score) else f", overall score {last.overall_score:.1f}"
        return Evaluation(False, float(run_id), f"run {run_id} ({last.trigger}) completed{score}", run_id)

    completed = _completed(runs)
    if rule.kind == "anomaly":
        return _anomaly(rule, store, completed)
    if rule.kind == "failed_count_above":
        for row in completed.itertuples():
            count = failed_count(store, int(row.id), rule.scope)
            if count is not None:
                firing = count > rule.threshold
                what = "all checks" if rule.scope == "overall" else rule.scope
                detail = (f"{count} failures in {what} in run {row.id} (limit {rule.threshold:g})" if firing
                          else f"{count} failures in {what} in run {row.id}, back within {rule.threshold:g}")
                return Evaluation(firing, float(count), detail, int(row.id))
        return Evaluation(None, detail=f"no completed run measured {rule.scope}")

    # score_below / score_drop: the newest completed run with a value for the scope; `overall` only
    # from full runs (a run limited by `only` has an overall score of just those checks)
    if rule.scope == "overall":
        completed = completed[completed["only"].fillna("") == ""]
    scored = []
    for row in completed.itertuples():
        value = score_of(store, int(row.id), rule.scope)
        if value is not None:
            scored.append((row, value))
            if rule.kind == "score_below":
                break
    if not scored:
        return Evaluation(None, detail=f"no completed run scored {rule.scope}")
    label = _scope_label(rule.scope)
    if rule.kind == "score_below":
        row, value = scored[0]
        firing = value < rule.threshold
        detail = (f"{label} is {value:.1f}, below {rule.threshold:g} (run {row.id})" if firing
                  else f"{label} is back to {value:.1f} (limit {rule.threshold:g}, run {row.id})")
        return Evaluation(firing, round(value, 4), detail, int(row.id))
    # score_drop: the newest run that has an earlier run limited to the same checks
    for i, (row, value) in enumerate(scored):
        only = "" if pd.isna(row.only) else row.only
        prev = next(((p, v) for p, v in scored[i + 1:] if ("" if pd.isna(p.only) else p.only) == only), None)
        if prev is None:
            continue
        (prow, before), drop = prev, prev[1] - value
        firing = drop >= rule.threshold
        detail = (f"{label} dropped {drop:.1f} points, from {before:.1f} (run {prow.id}) to {value:.1f} (run {row.id})"
                  if firing else f"{label} no longer dropping: {before:.1f} (run {prow.id}) → {value:.1f} (run {row.id})")
        return Evaluation(firing, round(drop, 4), detail, int(row.id))
    return Evaluation(None, detail=f"no two comparable completed runs scored {rule.scope}")


# -- delivery -------------------------------------------------------------------------------------
def message_for(cfg: Config, rule: AlertRule, ev: Evaluation, now: datetime) -> Message:
    """The alert (or recovery) message of a rule."""
    firing = bool(ev.firing)
    subject = f"cleancrm [{cfg.name}] {rule.name}: {'ALERT' if firing else 'recovered'}"
    fields = {"source": cfg.name, "rule": f"{rule.name} ({rule.kind})", "at": f"{now:%Y-%m-%d %H:%M:%S} UTC"}
    if rule.kind not in ("run_failed", "heartbeat_stale"):
        fields["scope"] = rule.scope
    if ev.value is not None and rule.kind != "run_failed":
        fields["value"] = f"{ev.value:g}"
    if ev.run_id is not None:
        fields["run"] = str(ev.run_id)
    return Message(subject, ev.detail[:2000], "firing" if firing else "recovered", fields)


def track_incident(cfg: Config, store: HistoryStore, rule: AlertRule, ev: Evaluation, message: Message,
                   now: datetime) -> int | None:
    """Open (or add to) the rule's incident when it fires, note its recovery; the message names the incident."""
    if ev.firing:
        summary = f"{rule.name} ({rule.kind}): {ev.detail}".strip()
        incident, _ = store.incidents.open_for(cfg.name, rule.name, rule.kind, rule.scope, summary, ev.run_id,
                                               route_owner(cfg, rule), now)
    else:
        incident = store.incidents.note_recovery(cfg.name, rule.name, ev.detail or "the rule no longer fires", now)
    if incident is not None:
        message.fields["incident"] = f"#{incident}"
        if (owner := store.incidents.get(incident).get("owner")):
            message.fields["owner"] = str(owner)
        if (link := incident_link(cfg, incident)):
            message.fields["link"] = link
    return incident


def evaluate(cfg: Config, store: HistoryStore, *, now: datetime | None = None, kinds: Iterable[str] | None = None,
             send: Sender = notify_send) -> list[AlertEvent]:
    """Evaluate the rules (all, or those of `kinds`) and send alerts/recoveries for state changes.

    Args:
        cfg: The config with `alerts`.
        store: The history store.
        now: Naive UTC now (tests); default the clock.
        kinds: Only rules of these kinds (the scheduler's heartbeat evaluates `heartbeat_stale`).
        send: Delivery function (channel, message); default `connectors.notify.send`.

    Returns:
        The state changes, with the channels that got them and delivery errors.
    """
    now = now or utcnow()
    wanted = set(kinds) if kinds is not None else None
    events = []
    for rule in cfg.alerts.rules:
        if wanted is not None and rule.kind not in wanted:
            continue
        try:
            ev = measure(rule, cfg, store, now)
            if ev.firing is None:
                continue
            claimed, previous = store.alert_state.claim(cfg.name, rule.name, ev.firing, ev.value, now)
        except (CleanCRMError, SQLAlchemyError) as exc:
            log.warning("alert rule %r: cannot evaluate (%s)", rule.name, str(exc).splitlines()[0])
            continue
        if not claimed:
            continue
        event = AlertEvent(rule.name, "firing" if ev.firing else "recovered", message_for(cfg, rule, ev, now))
        try:
            event.incident = track_incident(cfg, store, rule, ev, event.message, now)
        except (CleanCRMError, SQLAlchemyError) as exc:  # the alert still goes out
            log.warning("alert rule %r: cannot record its incident (%s)", rule.name, str(exc).splitlines()[0])
        for name in rule.channels:
            try:
                send(cfg.alerts.channels[name], event.message)
                event.delivered.append(name)
            except (NotifyError, KeyError, OSError) as exc:
                event.errors.append(f"{name}: {exc}")
                log.warning("alert rule %r: channel %s: %s", rule.name, name, exc)
        if rule.channels and not event.delivered:
            store.alert_state.unclaim(cfg.name, rule.name, previous)  # nothing went out: try again next time
        else:
            log.info("alert rule %r %s: %s", rule.name, event.state, json.dumps(event.message.fields))
        events.append(event)
    return events
