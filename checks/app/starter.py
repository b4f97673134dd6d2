"""The starter config `cleancrm init` writes: mapped, profiled, with suggested rules, and valid.

A known CRM is mapped by its preset; any other schema by what its tables and columns are
(`checks.profiling.schema`). Each mapped table is then profiled from a sample and the profile
suggests rules, required and expected fields (`checks.profiling.suggest`). Before anything is
written the config goes through the run's own validation against the live schema; whatever it
refuses (a field whose SQL fails, a key that repeats, a table with no live rows) is left out, so
the config that is written runs as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from checks.config import parse_config
from checks.engine.run import repeated_keys
from checks.profiling.columns import SAMPLE_ROWS, TableProfile, profile_frame
from checks.profiling.schema import TABLE_NAMES, custom_name, entity_of, fold, map_table
from checks.profiling.suggest import suggest
from connectors.errors import ConfigError
from connectors.mapping import plain_columns, validate_mapping
from connectors.presets import build_config, detect_preset
from connectors.presets.base import ACCOUNT_REFERENCES
from connectors.source import Source

_PLACE = re.compile(r"^entities\.(\w+)(?:\.(fields|custom_fields|rules|soft_delete|key|required|expected)"
                    r"(?:\.(\w+)|\[(\d+)\])?)?")


@dataclass
class Starter:
    """The config to write, what was detected, and what was left out and why."""

    config: dict
    detected: str
    spelling: str = ""
    dropped: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # the source's tables no entity reads


def sample(source: Source, table: str) -> tuple:
    """(first rows of a table, its row count), read through the read-only source."""
    frame = source.read_frame(f"SELECT * FROM {source.table_ref(table)} LIMIT {SAMPLE_ROWS}")
    count = source.scalar(f"SELECT COUNT(*) FROM {source.table_ref(table)}")
    return frame, int(count or 0)


def profile_table(source: Source, table: str) -> tuple[TableProfile, object]:
    """A table's profile and the sample it was made from."""
    frame, count = sample(source, table)
    return profile_frame(table, frame, count), frame


def map_by_content(source: Source, profiled: dict[str, tuple]) -> dict:
    """Entities found by what the tables and columns are, for a schema no preset knows.

    Each table's (profile, sample) is kept in `profiled`, so the tables mapped are not read again.
    """
    found: dict[str, dict] = {}
    scores: dict[str, int] = {}
    for table in source.tables():
        profiled[table] = profile_table(source, table)
        profile = profiled[table][0]
        entity = entity_of(table, profile)
        if entity is None:
            continue
        mapped = map_table(source, entity, table, profile)
        if mapped is None or not mapped.fields:
            continue
        named = fold(table) in TABLE_NAMES[entity]
        score = (2 if named else 0) * 1000 + len(mapped.fields)
        if score <= scores.get(entity, -1):
            continue
        scores[entity] = score
        ent = {"table": table, "key": mapped.key, "fields": mapped.fields}
        if mapped.custom:
            ent["custom_fields"] = mapped.custom
        if mapped.soft_delete:
            ent["soft_delete"] = mapped.soft_delete
        found[entity] = ent
    refs = [dict(r) for r in ACCOUNT_REFERENCES
            if r["from"].split(".")[0] in found and r["to"] in found
            and r["from"].split(".")[1] in found[r["from"].split(".")[0]]["fields"]]
    return {"entities": found, "references": refs}


def starter_config(source: Source, stored_url: str, preset: str | None = None, *, suggest_rules: bool = True,
                   live_url: str | None = None, schema: str | None = None) -> Starter:
    """The config for `source`, mapped, profiled and validated; `stored_url` is what the file says."""
    detected, spelling = detect_preset(source) if preset is None else (preset, "")
    config = build_config(source, stored_url, detected, spelling)
    if schema:
        config["source"]["schema"] = schema
    profiled: dict[str, tuple] = {}
    if detected == "generic" or not config["entities"]:
        by_content = map_by_content(source, profiled)
        if by_content["entities"]:
            config.update(by_content, name="crm", preset=None)
            config.pop("preset", None)
            detected = "an unfamiliar schema, mapped by its columns"
    starter = Starter(config, detected, spelling)
    if not config["entities"]:
        return starter
    for entity, ent in config["entities"].items():
        profile, frame = profiled.get(ent["table"]) or profile_table(source, ent["table"])
        _salesforce_custom(ent, profile)
        if entity == "opportunity":
            _stages(ent, profile)
        plain = {f: c for f, c in {**ent["fields"], **ent.get("custom_fields", {})}.items()
                 if isinstance(c, str) and c in profile.columns}
        found = suggest(entity, plain, profile, frame)
        ent["required"] = list(dict.fromkeys([*ent.get("required", []), *found["required"]]))
        expected = [f for f in found["expected"] if f not in ent["required"]]
        if expected:
            ent["expected"] = expected
        if suggest_rules and found["rules"]:
            ent["rules"] = found["rules"]
    _keep_what_validates(starter, source, live_url or stored_url)
    read = {ent["table"] for ent in config["entities"].values()}
    starter.unmapped = sorted(t for t in source.tables() if t not in read)
    return starter


WON = ("won", "gewonnen", "gagn", "ganad", "ganó", "gano")
LOST = ("lost", "verloren", "perdu", "perdid", "closed", "geschlossen", "ferm", "cerrad")


def _stages(ent: dict, profile: TableProfile) -> None:
    """Won and closed stages, read from the stage's values, where the CRM keeps no is_won / is_closed flag."""
    stage = ent["fields"].get("stage")
    if not isinstance(stage, str) or stage not in profile.columns:
        return
    values = [v for v, _ in profile.columns[stage].top]
    won = [v for v in values if any(w in v.lower() for w in WON)]
    closed = [v for v in values if any(w in v.lower() for w in WON + LOST)]
    if won and "is_won" not in ent["fields"]:
        ent["won_stages"] = won
    if closed and "is_closed" not in ent["fields"]:
        ent["closed_stages"] = closed


def _salesforce_custom(ent: dict, profile: TableProfile) -> None:
    """Salesforce's custom fields (`Region__c`) the mapping left out, as custom fields to profile and rule."""
    taken = {c for m in (*ent["fields"].values(), *ent.get("custom_fields", {}).values()) for c in plain_columns(m)}
    custom = {name: c for c in profile.columns if c.endswith("__c") and c not in taken and (name := custom_name(c))}
    if custom:
        ent["custom_fields"] = {**ent.get("custom_fields", {}), **custom}


def _keep_what_validates(starter: Starter, source: Source, url: str) -> None:
    """Leave out what the run's validation refuses, until nothing is refused (a few rounds at most)."""
    config = starter.config
    for _ in range(5):
        data = {k: v for k, v in config.items() if v is not None}
        data["source"] = {**config["source"], "url": url}
        try:
            cfg = parse_config(data)
        except ConfigError as exc:
            problems = str(exc).splitlines()
        else:
            problems = validate_mapping(cfg, source)
            if not problems:
                problems = repeated_keys(cfg, source)
        if not problems:
            return
        if not _drop(config, problems, starter.dropped):
            raise ConfigError("\n".join(problems))
    raise ConfigError("init: the starter config kept failing its validation; write the mapping by hand "
                      "from cleancrm.example.yml")


def _drop(config: dict, problems: list[str], dropped: list[str]) -> bool:
    """Remove what each problem names; False when a problem names nothing that can be left out."""
    entities = config["entities"]
    changed = False
    rules_to_drop: dict[str, set[int]] = {}
    references = config.get("references", [])
    for line in problems:
        if (ref := re.match(r"^references\[(\d+)\]", line)) and int(ref.group(1)) < len(references):
            references[int(ref.group(1))] = None
            dropped.append(line)
            changed = True
            continue
        m = _PLACE.match(line)
        if not m or m.group(1) not in entities:
            continue
        entity, section, name, index = m.groups()
        ent = entities[entity]
        if section in ("fields", "custom_fields") and name in ent.get(section, {}):
            del ent[section][name]
            for key in ("required", "expected"):
                if name in ent.get(key, []):
                    ent[key].remove(name)
            ent["rules"] = [r for r in ent.get("rules", []) if name not in (r.get("field"), *(r.get("fields") or []))]
        elif section == "rules" and index is not None:
            rules_to_drop.setdefault(entity, set()).add(int(index))
        elif section == "soft_delete":
            ent.pop("soft_delete", None)
        elif section in ("fields", "custom_fields"):
            continue  # already left out by an earlier line
        elif section in ("required", "expected"):
            ent[section] = [f for f in ent.get(section, []) if f in ent["fields"] or f in ent.get("custom_fields", {})]
        elif section in (None, "key"):  # the entity itself: no key, no live rows, a table that is not there
            del entities[entity]
            config["references"] = [r for r in config.get("references", [])
                                    if entity not in (r["from"].split(".")[0], r["to"])]
        dropped.append(line)
        changed = True
    config["references"] = [r for r in config.get("references", []) if r is not None]
    for entity, indexes in rules_to_drop.items():
        entities[entity]["rules"] = [r for i, r in enumerate(entities[entity].get("rules", [])) if i not in indexes]
    for ent in entities.values():
        for key in ("rules", "expected", "custom_fields"):
            if key in ent and not ent[key]:
                del ent[key]
    return changed
