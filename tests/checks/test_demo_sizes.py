"""`cleancrm demo` accepts every size from its minimum (50 contacts) up: small demos have few of each defect."""

from __future__ import annotations

import json

import pytest

from checks.demo import generate_demo


@pytest.mark.parametrize("contacts", [50, 120, 250])
def test_small_demos_are_built_with_their_ground_truth(tmp_path, contacts):
    result = generate_demo(tmp_path, contacts=contacts, seed=7)
    assert result.counts["contact"] >= contacts
    truth = json.loads(result.ground_truth_path.read_text())
    assert truth and result.db_path.exists()
