"""A cluster's tier says how its records matched: "exact" is a key shared as written, nothing looser.

Before, the exact pass's nickname and legal-suffix links (Bob ~ Robert, Acme Inc. ~ ACME LLC) were
labelled "exact, score 1.00" and no page said which key matched.
"""

import json

import pandas as pd

from checks.dedupe import find_duplicates
from checks.dedupe.cluster import cluster_id

from .conftest import filler


def _run(frame):
    result = find_duplicates(pd.concat([frame, filler(200)], ignore_index=True), "contact")
    return result.clusters.set_index("cluster_id")


def test_nicknames_and_legal_suffixes_are_not_exact_and_say_why(people):
    clusters = _run(people)
    bob = clusters.loc[cluster_id("contact", ["a1", "a2", "a3"])]
    assert bob.tier in ("likely", "review")
    assert "Bob / Robert" in bob.matched_on and "nickname" in bob.matched_on


def test_a_shared_email_is_exact_and_named(people):
    clusters = _run(people)
    ingrid = clusters.loc[cluster_id("contact", ["b1", "b2"])]
    assert ingrid.tier == "exact" and ingrid.matched_on == "same email"  # +tags and googlemail: one address


def test_a_fuzzy_cluster_lists_the_fields_that_agreed_and_how(people):
    twins = people[people.key.isin(["c1"])].assign(key="c2", last_name="Gonzales", email=None)
    frame = pd.concat([people, twins], ignore_index=True)
    clusters = _run(frame)
    maria = clusters.loc[cluster_id("contact", ["c1", "c2"])]
    assert maria.tier in ("likely", "review")
    assert maria.matched_on.startswith("agreeing: ") and "first_name: exact" in maria.matched_on
    assert "last_name: very similar" in maria.matched_on or "last_name: similar" in maria.matched_on
    assert "phone: exact" in maria.matched_on


def test_same_in_all_records_is_said_only_when_every_record_has_the_value(people):
    clusters = _run(people)
    plan = json.loads(clusters.loc[cluster_id("contact", ["a1", "a2", "a3"])].merge_plan)
    email = next(p for p in plan if p["field"] == "email")
    assert email["why"] != "same in all records"  # a2 has no email
