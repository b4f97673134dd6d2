"""Planning a run: which checks apply to which entity, with the config's settings applied.

A check's parameters (`checks.<id>.params`) are checked against what it declares (`Check.params`)
here, before anything is read or stored: an unknown name or a value of the wrong type is one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from checks.base import Check
from checks.config import Config
from checks.dimensions import all_checks
from checks.dimensions.rules import Rule
from connectors.errors import ConfigError
from connectors.source import suggest


@dataclass
class Planned:
    """A check instance with its effective settings, for one entity."""

    check: Check
    entity: str
    severity: str
    weight: float
    params: dict



def _matches(only: str | None, p: Planned) -> bool:
    if not only:
        return True
    wanted = {o.strip() for o in only.split(",") if o.strip()}
    return bool(wanted & {p.check.id, p.check.dimension, p.entity})


def check_params(check_id: str, cls: type[Check], given: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config's parameters for a check, validated against its declaration; and the problems found."""
    values, problems = {}, []
    for name, value in given.items():
        if name not in cls.params:
            takes = ", ".join(cls.params) or "no parameters"
            problems.append(f"checks.{check_id}.params.{name}: {check_id} has no parameter {name!r}"
                            f"{suggest(name, list(cls.params))}; it takes {takes}")
            continue
        try:
            values[name] = TypeAdapter(cls.params[name]).validate_python(value)
        except ValidationError as exc:
            problems.append(f"checks.{check_id}.params.{name}: {exc.errors()[0]['msg']} (got {value!r})")
    return values, problems


def plan(cfg: Config, only: str | None = None) -> list[Planned]:
    """The checks to run on each configured entity, with config overrides applied."""
    registry = all_checks()
    unknown = [cid for cid in cfg.checks if cid not in registry]
    if unknown:
        raise ConfigError("\n".join(f"checks.{c}: no such check{suggest(c, list(registry))}; `cleancrm checks` lists them"
                                    for c in unknown))
    params_of, problems = {}, []
    for cid, settings in cfg.checks.items():
        params_of[cid], wrong = check_params(cid, registry[cid], settings.params)
        problems += wrong
    if problems:
        raise ConfigError("\n".join(problems))
    planned = []
    for entity, ent in cfg.entities.items():
        mapped = ent.mapped()
        for cid, cls in registry.items():
            check = cls()
            settings = cfg.check_settings(cid)
            if not settings.enabled or not check.applies_to(entity, mapped):
                continue
            params = dict(params_of.get(cid, {}))
            params["_required"] = list(ent.required)
            params["_expected"] = list(ent.expected)
            params["_references"] = [(r.from_.split(".", 1)[1], r.to) for r in cfg.references
                                     if r.from_.split(".", 1)[0] == entity]
            planned.append(Planned(check, entity, settings.severity or cls.severity,
                                   cls.weight if settings.weight is None else settings.weight, params))
    for entity, ent in cfg.entities.items():
        for rule in ent.rules:
            if rule.enabled:
                planned.append(Planned(Rule(entity, rule), entity, rule.severity, rule.weight, {"_rule": rule}))
    if only:
        selected = [p for p in planned if _matches(only, p)]
        if not selected:
            raise ConfigError(f"--only: {only!r} matches no check, dimension or entity; `cleancrm checks` lists them")
        planned = selected
    return planned


DERIVED_FROM_STAGE = {"is_won": "won_stages", "is_closed": "closed_stages"}


def not_planned(cfg: Config) -> list[tuple[str, str, str]]:
    """The built-in checks and rules that will not run on an entity they belong to, and why.

    (check id, entity, reason): "disabled in the config", or the fields it needs that are not mapped.
    """
    out = []
    for entity, ent in cfg.entities.items():
        mapped = ent.mapped()
        for cid, cls in all_checks().items():
            check = cls()
            if entity not in check.entities:
                continue
            if not cfg.check_settings(cid).enabled:
                out.append((cid, entity, "disabled in the config"))
            elif not check.applies_to(entity, mapped):
                missing = [f for f in check.fields if f not in mapped]
                joined = check.unmet(mapped)
                derived = [f for f in missing if f in DERIVED_FROM_STAGE]
                hint = f" (or stage with {', '.join(DERIVED_FROM_STAGE[f] for f in derived)})" if derived else ""
                out.append((cid, entity, f"needs {joined} mapped{hint}"))
        out += [(f"rule.{r.id}", entity, "disabled in the config") for r in ent.rules if not r.enabled]
    return out
