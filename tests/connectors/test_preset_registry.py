"""Presets register themselves by subclassing: every one detects its own shape, and a new CRM is one class."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from checks.config import parse_config
from checks.demo.export import shape_tables, write_shape
from connectors.errors import ConfigError
from connectors.mapping import validate_mapping
from connectors.presets import build_config, detect_preset, get_preset, preset_names
from connectors.presets.base import REGISTRY, Preset
from connectors.source import Source, open_source

SHAPES = [(name, spelling) for name in preset_names() for spelling in get_preset(name).spellings]


@pytest.fixture
def registry():
    """The registry as it was before the test, whatever presets the test defines."""
    before = dict(REGISTRY)
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(before)


def test_the_known_crms_are_registered():
    assert {"demo", "generic", "hubspot", "salesforce", "suitecrm"} <= set(preset_names())
    assert get_preset("salesforce").spellings == ("api", "lower", "snake")


@pytest.mark.parametrize(("name", "spelling"), SHAPES, ids=[f"{n}-{s}".rstrip("-") for n, s in SHAPES])
def test_each_preset_detects_its_demo_shape_and_builds_a_valid_config(tmp_path, demo_tables, name, spelling):
    shaped = shape_tables(demo_tables, name, spelling)
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    write_shape(url, shaped)
    source = open_source(url)
    try:
        assert detect_preset(source) == (name, spelling)
        config = build_config(source, url)
        assert config["preset"] == name
        assert set(config["entities"]) == set(shaped.entity_tables)
        assert validate_mapping(parse_config(config), source) == []
    finally:
        source.close()


def _widget_crm(path) -> str:
    """A made-up CRM: one table of people, keyed by `pid`."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE wc_people (pid INTEGER PRIMARY KEY, given TEXT, family TEXT, mail TEXT,"
                             " gone INTEGER)")
        conn.exec_driver_sql("INSERT INTO wc_people VALUES (1, 'Ada', 'Lovelace', 'ada@example.org', 0),"
                             " (2, 'Alan', 'Turing', NULL, 1)")
    engine.dispose()
    return url


def test_a_new_crm_is_one_class(registry, tmp_path, demo_tables):
    class WidgetCRM(Preset, name="widgetcrm"):
        """Widget CRM: people in `wc_people`."""

        priority = 50
        entities = {"contact": {"table": "WC_People", "key": "pid", "soft_delete": "gone", "fields": {
            "first_name": "given", "last_name": "family", "email": ["mail", "mail2"], "title": "job"},
            "required": ["last_name", "title"]}}

        def detect(self, source: Source) -> str | None:
            return "" if "wc_people" in self.table_names(source) else None

    assert "widgetcrm" in preset_names() and isinstance(get_preset("widgetcrm"), WidgetCRM)
    url = _widget_crm(tmp_path / "widgets.db")
    source = open_source(url)
    try:
        assert detect_preset(source) == ("widgetcrm", "")
        config = build_config(source, url)
        # only the candidates the schema has: no `mail2`, no `job`, and so `title` is not required
        assert config["entities"] == {"contact": {
            "table": "wc_people", "key": "pid", "fields": {"first_name": "given", "last_name": "family", "email": ["mail"]},
            "required": ["last_name"], "soft_delete": "wc_people.gone = 1"}}
        assert config["references"] == []
        assert validate_mapping(parse_config(config), source) == []
    finally:
        source.close()
    # the other CRMs are still told apart as before
    demo_url = f"sqlite:///{tmp_path / 'demo.db'}"
    write_shape(demo_url, shape_tables(demo_tables, "demo"))
    source = open_source(demo_url)
    try:
        assert detect_preset(source) == ("demo", "")
    finally:
        source.close()


def test_a_name_is_registered_once(registry):
    class First(Preset, name="twice"):
        """The first preset called `twice`."""

    with pytest.raises(ValueError, match=r"preset name 'twice' is taken by .*First; give the new preset another name"):
        class Second(Preset, name="twice"):
            """A second preset with the same name."""

    assert registry["twice"] is First
    with pytest.raises(ValueError, match="preset name 'salesforce' is taken"):
        class Impostor(Preset, name="salesforce"):
            """A preset claiming a known CRM's name."""


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="preset 'pipedrive' is not known; use one of demo, generic, hubspot"):
        get_preset("pipedrive")
