"""Workers reading key ranges find exactly what one process streaming every chunk finds.

On SQLite, PostgreSQL and MariaDB, for the demo schema (integer keys) and the Salesforce and
SuiteCRM shapes (text keys; SuiteCRM's emails come through a join that may repeat a record).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

import checks.engine.parallel as parallel
from checks.config import parse_config
from checks.engine import Measurer, measure, plan
from connectors.mapping import KEY
from connectors.presets import build_config
from connectors.source import open_source

NOW = datetime(2024, 6, 1)
SHAPES = [("demo", ""), ("salesforce", "api"), ("suitecrm", "")]
_CUT = Measurer._key_boundaries


def _measure(url: str, chunk_size: int, workers: int, monkeypatch) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Findings, check results and the entities cut into key ranges."""
    monkeypatch.setattr(parallel, "MAX_WORKERS", workers)
    ranged = []

    def spy(self, query):
        ranged.append(query.name)
        return _CUT(self, query)

    monkeypatch.setattr(Measurer, "_key_boundaries", spy)
    source = open_source(url)
    try:
        raw = build_config(source, url)
        raw["source"]["chunk_size"] = chunk_size
        cfg = parse_config(raw)
        result = measure(cfg, source, [p for p in plan(cfg) if not p.check.id.startswith("duplication.fuzzy")], NOW)
    finally:
        source.close()
    findings = result.findings.astype(str).sort_values(list(result.findings.columns)).reset_index(drop=True)
    return findings, result.check_results.drop(columns=["metrics"]), ranged


@pytest.mark.parametrize(("shape", "spelling"), SHAPES, ids=[s for s, _ in SHAPES])
def test_key_ranges_in_workers_match_one_process(loaded, monkeypatch, shape, spelling):
    url, _ = loaded(shape, spelling or "api")
    inline_findings, inline_results, none = _measure(url, 10_000, 1, monkeypatch)
    ranged_findings, ranged_results, ranged = _measure(url, 100, 2, monkeypatch)  # 400 contacts: several ranges
    assert none == [] and "contact" in ranged
    assert len(inline_findings) > 100
    pd.testing.assert_frame_equal(ranged_findings, inline_findings)
    pd.testing.assert_frame_equal(ranged_results, inline_results)


def test_boundaries_cut_the_entity_into_chunk_sized_ranges(loaded):
    url, shaped = loaded("salesforce", "api")
    source = open_source(url)
    try:
        raw = build_config(source, url)
        raw["source"]["chunk_size"] = 100
        cfg = parse_config(raw)
        m = Measurer(cfg, source, NOW)
        query = m.queries["contact"]
        bounds = m._key_boundaries(query)
        ranges = parallel.key_ranges(bounds)
        sizes, seen = [], []
        for low, high in ranges:
            sql, params = query.range_select(["email"])(low, high)
            frame = source.read_frame(sql, params)
            sizes.append(len(frame))
            seen += [str(k) for k in frame[KEY]]
    finally:
        source.close()
    live = shaped.live_counts["contact"]
    assert len(ranges) == -(-live // 100)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == live  # every live record once
    assert max(sizes) == 100 and min(sizes) > 0


def test_key_ranges_in_workers_read_a_csv_export(tmp_path, demo_tables, monkeypatch):
    """An export is loaded into an in-memory database; forked workers read their ranges from its copy."""
    from checks.demo.export import shape_tables, write_hubspot_export

    write_hubspot_export(tmp_path, shape_tables(demo_tables, "hubspot"))
    url = f"csv:///{tmp_path}"
    inline_findings, inline_results, none = _measure(url, 10_000, 1, monkeypatch)
    ranged_findings, ranged_results, ranged = _measure(url, 100, 2, monkeypatch)
    assert none == [] and "contact" in ranged
    assert len(inline_findings) > 100
    pd.testing.assert_frame_equal(ranged_findings, inline_findings)
    pd.testing.assert_frame_equal(ranged_results, inline_results)
