"""People, not ids: owner names and teams from the CRM's users, team and 'my records' filters, ids sorted as numbers."""

from __future__ import annotations

import re
import sqlite3

import pytest

from checks.app.export import build_worklist, owner_summary
from tests.dashboard.secured import secured_copy
from tests.dashboard.test_dashboard_pages import app
from tests.dashboard.test_dashboard_roles import signed_in


@pytest.fixture(scope="module")
def real(demo_real_run):
    """The demo's real run, with the CRM's users as the run read them."""
    with sqlite3.connect(demo_real_run.folder / "crm.db") as con:
        users = {str(i): (f"{f} {la}", t) for i, f, la, t in con.execute(
            "SELECT id, first_name, last_name, team FROM users")}
    return {"folder": demo_real_run.folder, "cfg": demo_real_run.cfg, "store": demo_real_run.store,
            "run": demo_real_run.run, "users": users}


def test_a_run_keeps_each_owners_name_and_team(real):
    stored = real["store"].owners.of_run(real["run"])
    assert {str(r.owner): (r.name, r.team) for r in stored.itertuples()} == real["users"]
    assert set(stored.active.dropna()) == {0, 1}  # the demo has users who left


def test_worklists_carry_owner_names_sorted_by_owner_as_numbers(real):
    work = build_worklist(real["store"], real["run"])
    owned = work[work.owner.notna()]
    assert [real["users"][o][0] for o in owned.owner] == owned.owner_name.tolist()
    assert [real["users"][o][1] for o in owned.owner] == owned.team.tolist()
    ids = owned.owner.astype(int).tolist()
    assert ids == sorted(ids) and work.owner.iloc[len(owned):].isna().all()
    assert any(a < 10 <= b for a, b in zip(ids, ids[1:], strict=False))  # 9 before 10, as a number sorts
    summary = owner_summary(work).set_index("owner")
    some = owned.owner.iloc[0]
    assert summary.loc[some, "owner_name"] == real["users"][some][0]


def test_records_show_names_filter_by_team_and_sort_ids_as_numbers(monkeypatch, real):
    at = app(monkeypatch, real["folder"] / "cleancrm.yml", "records")
    owner_box = at.selectbox(key="rec_owner")
    some = next(o for o in owner_box.options if re.search(r" \(\d+\)$", o))  # options are shown as `Name (id)`
    name = some.rsplit(" (", 1)[0]
    assert name in {n for n, _ in real["users"].values()}
    table = at.dataframe[0].value
    assert table.owner.str.fullmatch(r".+ \(\d+\)|\(no owner\)").all()
    assert str(table.record_key.dtype) == "Int64"
    team = "SMB Sales"
    at.selectbox(key="rec_team").set_value(team).run()
    members = {o for o, (_, t) in real["users"].items() if t == team}
    shown = at.dataframe[0].value
    assert len(shown) and set(shown.owner.str.extract(r"\((\d+)\)$")[0]) <= members
    assert at.query_params["team"] == team
    expected = real["store"].findings.worklist(real["run"], owner=sorted(members))
    assert f"<b>{len(expected):,} findings</b>" in " ".join(m.value for m in at.markdown)


def test_a_steward_sees_only_their_records_in_one_click(monkeypatch, real, tmp_path):
    findings = real["store"].findings.of_run(real["run"])
    mine = str(findings[findings.entity == "contact"].owner.value_counts().index[0])
    path = secured_copy(real["folder"], tmp_path / "secured", ["contact"], [mine])
    at = signed_in(monkeypatch, {"path": path}, "sam", "records")
    at.toggle(key="rec_mine").set_value(True).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown.owner) == {f"{real['users'][mine][0]} ({mine})"}
    assert f"<b>{int((findings.owner == mine).sum()):,} findings</b>" in " ".join(m.value for m in at.markdown)
