"""The check registry and the config model document themselves: docstrings, descriptions, the example file."""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from checks.base import DIMENSIONS, REGISTRY, Check, is_enrichment, register
from checks.config import ENTITY_NAMES, Config, load_config
from checks.demo.evaluate import GROUP_TO_CHECK, KIND_TO_CHECK
from checks.dimensions import all_checks
from checks.engine.lookups import LOOKUPS
from tests.checks.conftest import tiny_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cleancrm.example.yml"
CHECKS = sorted(all_checks().items())


@pytest.mark.parametrize(("check_id", "cls"), [pytest.param(cid, cls, id=cid) for cid, cls in CHECKS])
def test_check_is_documented_and_well_formed(check_id, cls):
    doc = cls.__doc__ or ""
    assert cls.__doc__ is not Check.__doc__, f"{check_id} has no docstring of its own"
    assert "Fails when" in doc, f"{check_id}: docstring must say when it fails ('Fails when: ...')"
    assert "Example" in doc, f"{check_id}: docstring must give an example ('Example: ...')"
    assert doc.strip().splitlines()[0].strip(), f"{check_id}: first docstring line is the summary"
    assert cls.id == check_id
    assert cls.dimension in DIMENSIONS
    assert cls.entities and set(cls.entities) <= set(ENTITY_NAMES), f"{check_id}: unknown entity in {cls.entities}"
    assert cls.severity in ("low", "medium", "high", "critical")
    assert cls.scope in ("row", "entity")
    assert cls.weight >= 0
    if is_enrichment(check_id):  # opportunities: completeness checks that weigh nothing, found by their prefix
        assert (cls.dimension, cls.severity, cls.weight) == ("completeness", "low", 0.0), check_id
        assert cls.fix_confidence is not None and cls.scope == "row" and not cls.lookups, check_id
    else:
        assert cls.id.split(".")[0] == cls.dimension, f"{check_id}: id should start with its dimension"


def test_registry_is_not_empty_and_covers_every_dimension():
    assert len(CHECKS) >= 30
    assert {cls.dimension for _, cls in CHECKS} == set(DIMENSIONS)


def test_check_ids_are_unique_across_classes():
    def subclasses(c):
        for sub in c.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ids = [sub.id for sub in subclasses(Check) if "id" in vars(sub) or sub in REGISTRY.values()]
    registered = [i for i in ids if i in REGISTRY]
    assert len(registered) == len(set(registered)), f"duplicate ids: {[i for i in registered if registered.count(i) > 1]}"


def test_register_refuses_duplicates_and_unknown_dimensions():
    existing = next(iter(all_checks().values()))
    dup = type("Dup", (Check,), {"id": existing.id, "dimension": "accuracy", "__doc__": "x"})
    with pytest.raises(ValueError, match="duplicate check id"):
        register(dup)
    odd = type("Odd", (Check,), {"id": "zzz.test_only_odd", "dimension": "beauty", "__doc__": "x"})
    with pytest.raises(ValueError, match="unknown dimension"):
        register(odd)
    assert "zzz.test_only_odd" not in REGISTRY


@pytest.mark.parametrize(("kind", "check_id"), [pytest.param(k, c, id=k) for k, c in
                                                 {**KIND_TO_CHECK, **{f"group_{k}": c for k, c in
                                                                      GROUP_TO_CHECK.items()}}.items()])
def test_ground_truth_kinds_map_to_registered_checks(kind, check_id):
    assert check_id in all_checks(), f"{kind} → {check_id}: no such check"


# -- config keys ---------------------------------------------------------------------------------------
def _models(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def config_fields() -> list[tuple[str, str, object]]:
    """(model path, key as written in YAML, FieldInfo) for every key of Config and the models under it."""
    out, seen, todo = [], set(), [("", Config)]
    while todo:
        path, model = todo.pop(0)
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            if info.exclude:
                continue
            key = info.alias or name
            out.append((f"{path}{model.__name__}.{key}", key, info))
            todo += [(f"{path}{model.__name__}.{key} → ", m) for m in _models(info.annotation)]
    return out


FIELDS = config_fields()


def test_config_walk_reaches_nested_models():
    paths = {p.rsplit(".", 1)[0].split(" → ")[-1] for p, _, _ in FIELDS}
    assert {"Config", "SourceConfig", "EntityConfig", "FieldSpec", "JoinStep", "CheckSettings", "AlertChannel",
            "RetryConfig", "ReferenceConfig"} <= paths


@pytest.mark.parametrize(("path", "key", "info"), [pytest.param(*f, id=f[0].split(" → ")[-1]) for f in FIELDS])
def test_every_config_key_has_a_description(path, key, info):
    assert info.description and len(info.description.strip()) > 3, f"{path}: Field(description=...) missing"


def test_example_config_parses_and_mentions_every_key(monkeypatch):
    if not EXAMPLE.exists():
        pytest.skip(f"{EXAMPLE.name} not written yet (expected at the repository root)")
    text = EXAMPLE.read_text(encoding="utf-8")
    for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):  # ${VAR} without a default must be set
        monkeypatch.setenv(var, "x")
    cfg = load_config(EXAMPLE)
    assert cfg.entities
    missing = sorted({key for _, key, _ in FIELDS if not re.search(rf"(^|[\s#`{{,-]){re.escape(key)}:", text, re.M)})
    assert missing == [], f"{EXAMPLE.name} does not mention: {', '.join(missing)}"


@pytest.mark.parametrize(("check_id", "cls"), CHECKS, ids=[c for c, _ in CHECKS])
def test_a_check_declares_the_lookups_it_reads(check_id, cls):
    """The engine prepares what a check declares: every `ctx.lookup(name)` it makes is declared and exists."""
    used = set(re.findall(r"""ctx\.lookup\(["'](\w+)["']\)""", inspect.getsource(cls)))
    assert used <= set(cls.lookups), f"{check_id} reads {used - set(cls.lookups)} without declaring them"
    assert set(cls.lookups) <= set(LOOKUPS), f"{check_id} declares unknown look-ups {set(cls.lookups) - set(LOOKUPS)}"


def test_the_engine_names_no_check():
    """Which checks need other entities is said by the checks, not by the engine."""
    engine = ROOT / "checks" / "engine"
    for path in engine.glob("*.py"):
        text = path.read_text()
        named = [cid for cid in all_checks() if f'"{cid}"' in text]
        assert named == [], f"{path.name} names checks {named}"


def test_check_results_name_the_fields_each_check_measures(tiny_crm, tmp_path):
    # Checks without fields of their own report what the config gives them: the entity's required
    # fields, the reference fields (not each other's).
    entities = tiny_config(tmp_path / "crm.db")["entities"]
    entities = {e: entities[e] for e in ("account", "contact")}
    entities["contact"]["required"] = ["last_name", "email"]
    result = tiny_crm({"accounts": [{"id": 1, "name": "Acme"}],
                       "contacts": [{"id": 1, "last_name": "Li", "email": "li@acme.com", "account_id": 1},
                                    {"id": 2, "last_name": "", "email": "x@acme.com", "account_id": 9}]},
                      only="completeness.required,consistency.orphans", entities=entities)
    fields = result.check_results.set_index(["check_id", "entity"]).fields
    assert fields[("consistency.orphans", "contact")] == "account_id"
    assert fields[("completeness.required", "contact")] == "last_name,email"
