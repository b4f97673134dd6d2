"""The Fix package page through Streamlit's AppTest, on a real run of the demo CRM.

The synthetic history's findings sit on random records that pass their checks, so a package of
them has almost nothing to apply: these tests run the checks once for real.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile

import pandas as pd
import pytest
import sqlalchemy as sa
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from checks.app.fix_package import make_package
from checks.config import load_config
from checks.engine import run_checks
from connectors.history import HistoryStore
from dashboard import access, launch
from tests.dashboard.secured import PASSWORDS, busiest_owner, secured_copy

APP = str(launch.APP)
FIXERS = ["consistency.whitespace", "accuracy.email_syntax"]
ADVICE = "duplication.fuzzy"


@pytest.fixture(scope="module")
def real(demo_history, tmp_path_factory):
    """A copy of the demo whose newest run is a real one (the dashboard shows it by default)."""
    folder = tmp_path_factory.mktemp("fix-real")
    shutil.copytree(demo_history.pristine, folder, dirs_exist_ok=True)
    cfg = load_config(folder / "cleancrm.yml")
    run = run_checks(cfg).run_id
    return {"path": folder / "cleancrm.yml", "cfg": cfg, "store": HistoryStore(cfg.history_url()), "run": run,
            "folder": folder}


class KeptFiles(MemoryMediaFileStorage):
    """AppTest's media storage, keeping every file handed to a download button for the test to read."""

    files: dict[str, tuple[bytes, str | None]] = {}

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
        KeptFiles.files[file_id] = (self.get_file(file_id).content, filename)
        return file_id


@pytest.fixture(autouse=True)
def _kept_files(monkeypatch):
    KeptFiles.files = {}
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", KeptFiles)


def start(monkeypatch, config) -> AppTest:
    monkeypatch.setenv("CLEANCRM_CONFIG", str(config))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def fix_page(monkeypatch, config, name: str | None = None) -> AppTest:
    at = start(monkeypatch, config)
    if name:
        at.text_input(key="sign_in_name").input(name)
        at.text_input(key="sign_in_password").input(PASSWORDS[name])
        at.button(key="sign_in_submit").click().run()
    at.switch_page("app_pages/fix.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def preview(at: AppTest) -> AppTest:
    at.button(key="fix_preview_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def downloaded(at: AppTest) -> tuple[bytes, str | None]:
    """The bytes and file name behind the page's one download button."""
    (button,) = at.get("download_button")
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return KeptFiles.files[file_id]


def reasons_of(package) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(package.files["reasons.csv"]), encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)


def crm_value(cfg, manifest: dict, entity: str, column: str, key: str):
    info = manifest["entities"][entity]
    engine = sa.create_engine(cfg.source_url())
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f'SELECT "{column}" FROM "{info["table"]}" WHERE "{info["key"]}" = :k'),
                                {"k": int(key)}).scalar_one()
    finally:
        engine.dispose()


def test_the_page_offers_the_checks_that_propose_values_first(monkeypatch, real):
    at = fix_page(monkeypatch, real["path"])
    assert [t.value for t in at.title] == ["Fix package"]
    assert at.selectbox(key="cleancrm_run").value == real["run"]
    box = at.multiselect(key="fix_checks")
    labels = box.options
    proposes = [i for i, label in enumerate(labels) if "· proposes values" in label]
    advice = [i for i, label in enumerate(labels) if "· advice only" in label]
    assert proposes and advice and max(proposes) < min(advice)
    assert any(label.startswith(f"{ADVICE} · advice only") for label in labels)
    assert any(label.startswith("consistency.whitespace · proposes values") for label in labels)
    assert at.slider(key="fix_confidence").value == pytest.approx(0.8)
    assert not at.get("download_button")  # nothing is read from the CRM before Preview
    assert "fix_preview" not in at.session_state


def test_the_preview_counts_are_those_of_the_package(monkeypatch, real):
    at = fix_page(monkeypatch, real["path"])
    at.multiselect(key="fix_checks").set_value([*FIXERS, ADVICE]).run()
    at.multiselect(key="fix_entities").set_value(["contact"]).run()
    at.slider(key="fix_confidence").set_value(0.9).run()
    preview(at)
    assert not at.error, [e.value for e in at.error]
    package = make_package(real["cfg"], real["store"], real["run"], "csv", created_by="test",
                           check=[*FIXERS, ADVICE], entity=["contact"], min_confidence=0.9)
    ents = package.manifest["entities"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records to update"] == f"{ents['contact']['apply_records']:,}"
    assert metrics["Values to change"] == f"{ents['contact']['apply_changes']:,}"
    assert metrics["Changes for review"] == f"{ents['contact']['review_changes']:,}"
    assert ents["contact"]["apply_changes"] > 0 and ents["contact"]["review_changes"] > 0

    by_check, by_entity, apply, review = (d.value for d in at.dataframe)
    expected = package.outcomes.sort_values(["check_id", "entity"]).reset_index(drop=True)
    got = by_check.sort_values(["check_id", "entity"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False)
    assert list(by_check.check_id)[-1] == ADVICE  # advice only comes last
    assert by_check.set_index("check_id").loc[ADVICE, "advice only"] > 0
    assert by_entity.set_index("entity").loc["contact", "apply_records"] == ents["contact"]["apply_records"]
    assert set(by_entity.entity) == {"contact"}

    reasons = reasons_of(package)
    for shown, destination in ((apply, "apply"), (review, "review")):
        rows = reasons[reasons.destination == destination].head(20)
        assert list(zip(shown.record_id, shown.field, strict=True)) == list(zip(rows.record_id, rows.field,
                                                                                strict=True))
    spaces = apply[apply.checks == "consistency.whitespace"]
    assert len(spaces) and spaces.current_value.str.contains("[·°→↵]").all()  # the invisible, made visible
    assert not spaces.proposed_value.str.contains("[·°→↵]").any()
    assert (review.confidence < 0.9).any() or review.review_reason.str.contains("would").any()
    assert "reasons.csv in the package has every change" in texts(at)


def test_the_download_is_the_package_as_a_zip_with_current_values(monkeypatch, real):
    at = fix_page(monkeypatch, real["path"])
    at.multiselect(key="fix_checks").set_value(["consistency.phone_e164"]).run()
    preview(at)
    data, name = downloaded(at)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(next(archive.read(n) for n in archive.namelist() if n.endswith("/manifest.json")))
    assert name == f"{manifest['package_id']}.zip"
    folder = manifest["package_id"]
    assert {f"{folder}/manifest.json", f"{folder}/contact.apply.csv", f"{folder}/contact.rollback.csv",
            f"{folder}/reasons.csv", f"{folder}/README.txt"} <= set(archive.namelist())
    assert manifest["filters"] == {"check": ["consistency.phone_e164"]} and manifest["format"] == "csv"
    assert manifest["created_by"] == access.local_admin().name
    for name_, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(f"{folder}/{name_}")).hexdigest() == digest

    apply = at.dataframe[2].value
    assert len(apply) and apply.proposed_value.str.startswith("+").all()  # E.164, without the spreadsheet's '
    for row in apply.head(5).itertuples():
        assert row.current_value == crm_value(real["cfg"], manifest, row.entity, row.column, row.record_id)

    made = real["store"].audit.list(real["cfg"].name, "fix_package").iloc[0]
    assert made.actor == access.local_admin().name and manifest["package_id"] in made.detail
    assert '"via": "dashboard"' in made.detail
    # A preview is not a package yet: later runs track a package once it is downloaded (the browser test).
    assert not real["store"].fix_packages.has(manifest["package_id"])


def test_changing_a_choice_after_the_preview_asks_for_a_new_one(monkeypatch, real):
    at = fix_page(monkeypatch, real["path"])
    at.multiselect(key="fix_checks").set_value(["consistency.phone_e164"]).run()
    preview(at)
    assert len(at.get("download_button")) == 1
    at.slider(key="fix_confidence").set_value(0.95).run()
    assert "The choices changed since the last preview" in texts(at)
    assert not at.get("download_button") and not at.metric
    at.slider(key="fix_confidence").set_value(0.8).run()  # back to what was previewed
    assert len(at.get("download_button")) == 1


def test_no_matching_finding_is_one_error_line(monkeypatch, real):
    work = real["store"].findings.worklist(real["run"])
    check = "consistency.phone_e164"
    owner = sorted(set(work.owner.dropna()) - set(work[work.check_id == check].owner.dropna()))[0]
    at = fix_page(monkeypatch, real["path"])
    at.multiselect(key="fix_checks").set_value([check]).run()
    at.multiselect(key="fix_owners").set_value([owner]).run()
    preview(at)
    (error,) = at.error
    assert "no findings match these filters" in error.value and "\n" not in error.value
    assert not at.get("download_button") and not at.metric


@pytest.fixture()
def secured(real, tmp_path):
    """ann (admin), sam (steward of one owner's contacts) and vera (viewer) on a copy of the real run."""
    owner = busiest_owner(real["store"].findings.of_run(real["run"]), "contact", "first_name")
    path = secured_copy(real["folder"], tmp_path / "secured", ["contact"], [owner])
    cfg = load_config(path)
    return {"path": path, "cfg": cfg, "store": HistoryStore(cfg.history_url()), "owner": owner, "run": real["run"]}


def test_a_viewer_sees_counts_only_and_cannot_download(monkeypatch, secured):
    at = fix_page(monkeypatch, secured["path"], "vera")
    at.multiselect(key="fix_checks").set_value(FIXERS).run()
    preview(at)
    assert {m.label for m in at.metric} >= {"Records to update", "Values to change", "Changes for review"}
    assert int(next(m.value for m in at.metric if m.label == "Records to update").replace(",", "")) > 0
    assert not at.get("download_button")
    body = texts(at)
    assert "Exports and downloads need the steward or admin role; you are signed in as viewer." in body
    assert "shows you its counts only" in body
    assert len(at.dataframe) == 2  # by check and by entity: no value of any record
    assert "Changes to apply" not in [s.value for s in at.subheader]
    kept = at.session_state["fix_preview"]
    assert "zip" not in kept and "apply" not in kept  # no unmasked value stays in the session either
    made = secured["store"].audit.list(secured["cfg"].name, "fix_package").iloc[0]
    assert made.actor == "vera" and '"counts_only": true' in made.detail


def test_a_steward_gets_only_the_records_they_see_unmasked(monkeypatch, secured):
    at = fix_page(monkeypatch, secured["path"], "sam")
    assert at.multiselect(key="fix_entities").options == ["contact"]
    assert at.multiselect(key="fix_owners").options == [secured["owner"]]
    assert "Your role grants you the records of entities contact and owners" in texts(at)
    at.multiselect(key="fix_checks").set_value(["consistency.whitespace", "consistency.name_casing"]).run()
    preview(at)
    data, _ = downloaded(at)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(next(archive.read(n) for n in archive.namelist() if n.endswith("/manifest.json")))
    assert manifest["filters"]["entity"] == ["contact"] and manifest["filters"]["owner"] == [secured["owner"]]
    assert manifest["created_by"] == "sam"
    reasons = pd.read_csv(io.BytesIO(next(archive.read(n) for n in archive.namelist() if n.endswith("/reasons.csv"))),
                          encoding="utf-8-sig", dtype=str)
    work = secured["store"].findings.worklist(secured["run"], entity="contact")
    owners = dict(zip(work.record_id, work.owner, strict=True))
    assert len(reasons) and {owners[r] for r in reasons.record_id} == {secured["owner"]}
    apply = at.dataframe[2].value
    assert len(apply) and not apply.current_value.fillna("").str.contains("•••").any()
