"""Incidents: which owner a breach goes to, and the link an alert carries to it.

A rule's scope says what it watches (`overall`, a dimension, an entity, `entity.dimension`,
`entity.field` or a check id); the config's `incidents.routes` send each scope to an owner, the
first route whose every criterion matches winning, else `incidents.default_owner`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import urlencode

from checks.base import DIMENSIONS
from checks.config import ENTITY_NAMES, AlertRule, Config


def scope_parts(scope: str | None) -> dict[str, str | None]:
    """What a rule's scope names: {entity, dimension, check}, each None when it names none."""
    parts: dict[str, str | None] = {"entity": None, "dimension": None, "check": None}
    if not scope or scope == "overall":
        return parts
    if scope in ENTITY_NAMES:
        parts["entity"] = scope
    elif scope in DIMENSIONS:
        parts["dimension"] = scope
    elif "." in scope:
        head, _, tail = scope.partition(".")
        if head in ENTITY_NAMES:  # entity.dimension or entity.field
            parts["entity"] = head
            parts["dimension"] = tail if tail in DIMENSIONS else None
        else:  # a check id: its first part is its dimension (rule.* checks have none of ours)
            parts["check"] = scope
            parts["dimension"] = head if head in DIMENSIONS else None
    return parts


def route_owner(cfg: Config, rule: AlertRule) -> str | None:
    """The owner of the incidents of `rule`."""
    parts = scope_parts(rule.scope if rule.kind not in ("run_failed", "heartbeat_stale") else None)
    for route in cfg.incidents.routes:
        if route.kind and route.kind != rule.kind:
            continue
        if route.entity and route.entity != parts["entity"]:
            continue
        if route.dimension and route.dimension != parts["dimension"]:
            continue
        if route.check and not (parts["check"] and fnmatchcase(parts["check"], route.check)):
            continue
        return route.owner
    return cfg.incidents.default_owner


def incident_link(cfg: Config, incident: int) -> str | None:
    """The dashboard address of an incident, when `dashboard.public_url` says where the dashboard is."""
    base = cfg.dashboard.public_url
    return None if not base else f"{base.rstrip('/')}/incidents?{urlencode({'incident': incident})}"
