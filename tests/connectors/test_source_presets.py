"""Reflection and presets on SQLite, PostgreSQL and MariaDB: detect → build → validate → read."""

from __future__ import annotations

import pandas as pd
import pytest

from checks.config import parse_config
from connectors.mapping import KEY, EntityQuery, validate_mapping
from connectors.presets import build_config, detect_preset
from connectors.source import open_source

SHAPES = [("demo", "", "demo"), ("salesforce", "api", "salesforce"), ("salesforce", "lower", "salesforce"),
          ("salesforce", "snake", "salesforce"), ("suitecrm", "", "suitecrm")]


def read_entities(source, cfg, chunk_size=97):
    """Every entity read through EntityQuery.select + Source.stream: entity → frame."""
    out = {}
    for name, ent in cfg.entities.items():
        sql, _ = EntityQuery(source, name, ent).select(list(ent.fields))
        chunks = list(source.stream(sql, chunk_size=chunk_size))
        assert all(len(c) <= chunk_size for c in chunks)
        out[name] = pd.concat(chunks, ignore_index=True)
    return out


def test_reflection_lists_tables_and_columns(loaded):
    url, shaped = loaded("salesforce", "api")
    source = open_source(url)
    try:
        assert sorted(source.tables()) == sorted(shaped.frames)
        for table, frame in shaped.frames.items():
            assert source.columns(table) == list(frame.columns)
        assert source.columns("Contact")[:3] == ["Id", "FirstName", "LastName"]
    finally:
        source.close()


@pytest.mark.parametrize(("shape", "spelling", "preset"), SHAPES, ids=[f"{s}-{p}".rstrip("-") for s, p, _ in SHAPES])
def test_preset_detect_build_validate_read(loaded, shape, spelling, preset):
    url, shaped = loaded(shape, spelling or "api")
    source = open_source(url)
    try:
        assert detect_preset(source) == (preset, spelling)
        cfg = parse_config(build_config(source, url))
        assert set(cfg.entities) == {"user", "account", "contact", "lead", "opportunity"}
        assert validate_mapping(cfg, source) == []
        frames = read_entities(source, cfg)
        # soft-deleted rows are excluded: the counts are the live rows, fewer than the table holds
        assert {e: len(f) for e, f in frames.items()} == shaped.live_counts
        table = shaped.entity_tables["contact"]
        assert len(shaped.frames[table]) > shaped.live_counts["contact"]
        contacts = frames["contact"]
        assert contacts[KEY].is_unique  # no join multiplied a row
        emails = {str(k): (None if pd.isna(e) else e) for k, e in zip(contacts[KEY], contacts["email"], strict=True)}
        assert emails == shaped.contact_emails
        # several phone columns come back as one label each
        assert any(c.startswith("phone:") for c in contacts.columns)
    finally:
        source.close()


def test_suitecrm_email_and_account_joins_skip_deleted_and_secondary_rows(loaded):
    url, shaped = loaded("suitecrm")
    source = open_source(url)
    try:
        cfg = parse_config(build_config(source, url))
        sql, _ = EntityQuery(source, "contact", cfg.entities["contact"]).select(["email", "account_id"])
        frame = source.read_frame(sql)
        got = dict(zip(frame[KEY], frame["email"], strict=True))
        rels = shaped.frames["email_addr_bean_rel"]
        addresses = shaped.frames["email_addresses"].set_index("id")
        # the traps are really in the data: secondary addresses, deleted relations and deleted addresses
        assert (rels.primary_address == 0).sum() > 5 and (rels.deleted == 1).sum() > 5
        assert (addresses.deleted == 1).sum() > 5
        assert not any(str(v).startswith(("alt.", "old.")) for v in got.values() if v is not None)
        gone = {b for b, a in zip(rels.bean_id, rels.email_address_id, strict=True) if addresses.deleted[a] == 1}
        assert all(pd.isna(got[b]) for b in gone if b in got)
        links = shaped.frames["accounts_contacts"]
        live_links = dict(zip(links.loc[links.deleted == 0, "contact_id"], links.loc[links.deleted == 0, "account_id"],
                              strict=True))
        assert all(frame.set_index(KEY).account_id[k] == a for k, a in live_links.items() if k in got)
    finally:
        source.close()


def test_hubspot_preset_from_csv_export(tmp_path, demo_tables):
    from checks.demo.export import shape_tables, write_hubspot_export

    shaped = shape_tables(demo_tables, "hubspot")
    write_hubspot_export(tmp_path, shaped)
    # named as HubSpot names its exports
    (tmp_path / "contacts.csv").rename(tmp_path / "hubspot-crm-exports-all-contacts-2024-06-01.csv")
    url = f"csv:///{tmp_path}"
    source = open_source(url)
    assert detect_preset(source) == ("hubspot", "")
    cfg = parse_config(build_config(source, url))
    assert cfg.entities["contact"].table == "hubspot_crm_exports_all_contacts_2024_06_01"
    assert validate_mapping(cfg, source) == []
    frames = read_entities(source, cfg)
    assert {e: len(f) for e, f in frames.items()} == shaped.live_counts
    contacts = frames["contact"]
    got = {k: (None if pd.isna(e) else e) for k, e in zip(contacts[KEY], contacts["email"], strict=True)}
    assert got == shaped.contact_emails


def test_soft_delete_is_qualified_so_joins_cannot_make_it_ambiguous(loaded):
    url, _ = loaded("salesforce", "api")
    source = open_source(url)
    try:
        cfg = build_config(source, url)
        assert cfg["entities"]["contact"]["soft_delete"].startswith(source.quote("Contact") + ".")
        # a join to a table that has the same IsDeleted column must still validate and read (a canonical
        # field read through the join: the account's name stands in for the title)
        cfg["entities"]["contact"]["fields"]["title"] = {
            "column": "Account.Name", "join": [{"table": "Account", "on": '"Account"."Id" = "Contact"."AccountId"'
                                                if source.dialect != "mysql" else "Account.Id = Contact.AccountId"}]}
        parsed = parse_config(cfg)
        assert validate_mapping(parsed, source) == []
        sql, _ = EntityQuery(source, "contact", parsed.entities["contact"]).select(["title"])
        assert len(source.read_frame(sql)) == source.scalar(
            EntityQuery(source, "contact", parsed.entities["contact"]).count_sql())
    finally:
        source.close()


def test_build_config_returns_a_copy_the_caller_may_edit(loaded):
    url, _ = loaded("suitecrm")
    source = open_source(url)
    try:
        first = build_config(source, url)
        first["entities"]["contact"]["fields"]["email"]["join"][0]["table"] = "edited"
        assert build_config(source, url)["entities"]["contact"]["fields"]["email"]["join"][0]["table"] == "email_addr_bean_rel"
    finally:
        source.close()
