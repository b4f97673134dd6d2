import json

import pandas as pd

from checks.dedupe import DedupeSettings, find_cross_entity, find_duplicates
from checks.dedupe.cluster import _prune, cluster_id, connected_components

from .conftest import filler


def _frame(people):
    return pd.concat([people, filler(200)], ignore_index=True)


def _clusters(result):
    return {frozenset(g) for _, g in result.members.groupby("cluster_id")["key"]}


def test_finds_planted_clusters(people):
    result = find_duplicates(_frame(people), "contact")
    assert frozenset({"a1", "a2", "a3"}) in _clusters(result)
    assert frozenset({"b1", "b2"}) in _clusters(result)
    assert set(result.clusters.columns) >= {"cluster_id", "entity", "tier", "score", "size", "survivor_key", "merge_plan"}
    assert set(result.pairs.columns) >= {"key_a", "key_b", "probability", "tier", "explanation"}
    assert result.stats["candidate_pairs"] > 0 and "compare" in result.stats["timings"]


def test_explanation_names_agreeing_fields(people):
    result = find_duplicates(_frame(people), "contact")
    pair = result.pairs[(result.pairs.key_a == "b1") & (result.pairs.key_b == "b2")].iloc[0]
    fields = json.loads(pair["explanation"])["fields"]
    assert fields["phone"]["level"] == "exact"
    assert fields["email"]["level"] == "exact"
    assert fields["first_name"]["weight"] > 0  # swapped names still agree


def test_cluster_ids_stable_when_members_unchanged(people):
    first = find_duplicates(_frame(people), "contact")
    shuffled = pd.concat([filler(150, seed=9), people.sample(frac=1, random_state=1)], ignore_index=True)
    second = find_duplicates(shuffled, "contact")
    assert cluster_id("contact", ["a3", "a1", "a2"]) == cluster_id("contact", ["a1", "a2", "a3"])
    assert set(first.clusters.cluster_id) & set(second.clusters.cluster_id) >= {
        cluster_id("contact", ["a1", "a2", "a3"]), cluster_id("contact", ["b1", "b2"])}
    changed = people[people.key != "a3"]
    third = find_duplicates(pd.concat([changed, filler(200)], ignore_index=True), "contact")
    assert cluster_id("contact", ["a1", "a2", "a3"]) not in set(third.clusters.cluster_id)
    assert cluster_id("contact", ["a1", "a2"]) in set(third.clusters.cluster_id)


def test_decisions_respected(people):
    bob = cluster_id("contact", ["a1", "a2", "a3"])
    ingrid = cluster_id("contact", ["b1", "b2"])
    result = find_duplicates(_frame(people), "contact", decisions={bob: "not_duplicate", ingrid: "confirmed"})
    assert bob not in set(result.clusters.cluster_id)
    assert bob in set(result.dismissed.cluster_id)
    assert not result.members.key.isin(["a1", "a2", "a3"]).any()
    assert result.clusters.set_index("cluster_id").loc[ingrid, "tier"] == "confirmed"
    # A dismissal is tied to the member set: once a member changes it no longer applies.
    changed = pd.concat([people[people.key != "a3"], filler(200)], ignore_index=True)
    again = find_duplicates(changed, "contact", decisions={bob: "not_duplicate"})
    assert cluster_id("contact", ["a1", "a2"]) in set(again.clusters.cluster_id)


def test_survivor_rules(people):
    result = find_duplicates(_frame(people), "contact")
    clusters = result.clusters.set_index("cluster_id")
    bob = clusters.loc[cluster_id("contact", ["a1", "a2", "a3"])]
    # a2 has no e-mail; a1 and a3 both have one, a1 is more complete (has a phone).
    assert bob["survivor_key"] == "a1"
    plan = {p["field"]: p for p in json.loads(bob["merge_plan"])}
    assert plan["email"]["from_key"] == "a1"
    recent = DedupeSettings(survivor_rules=["most_recent_activity"])
    again = find_duplicates(_frame(people), "contact", recent).clusters.set_index("cluster_id")
    assert again.loc[cluster_id("contact", ["a1", "a2", "a3"]), "survivor_key"] == "a2"
    members = result.members[result.members.cluster_id == cluster_id("contact", ["a1", "a2", "a3"])]
    assert members.is_survivor.sum() == 1


def test_merge_plan_fills_gaps_from_other_members(people):
    frame = _frame(people)
    frame.loc[frame.key == "a1", "street"] = None
    result = find_duplicates(frame, "contact")
    bob = result.clusters.set_index("cluster_id").loc[cluster_id("contact", ["a1", "a2", "a3"])]
    plan = {p["field"]: p for p in json.loads(bob["merge_plan"])}
    assert plan["street"]["from_key"] == "a2"  # most recently modified member with a street
    assert "survivor has no valid value" in plan["street"]["why"]


def test_weak_member_is_ejected():
    import numpy as np

    prob = np.array([[1, .99, .99, .6], [.99, 1, .99, .01], [.99, .99, 1, .01], [.6, .01, .01, 1]])
    assert _prune(prob, 0.5).tolist() == [True, True, True, False]
    assert _prune(prob[:3, :3], 0.5).all()


def test_connected_components():
    import numpy as np

    labels = connected_components(7, np.array([0, 2, 5, 3]), np.array([1, 3, 6, 4]))
    assert labels.tolist() == [0, 0, 2, 2, 2, 5, 5]


def test_cross_entity_lead_matches_contact(people):
    leads = pd.DataFrame([
        {"key": "L1", "first_name": "Bobby", "last_name": "Miller", "email": "rob.miller+web@acme.com",
         "company": "Acme Incorporated", "country": "US"},
        {"key": "L2", "first_name": "Totally", "last_name": "Different", "email": "td@else.org", "country": "US"},
    ])
    out = find_cross_entity(leads, _frame(people))
    assert list(out.columns[:3]) == ["lead_key", "contact_key", "score"]
    matched = set(zip(out.lead_key, out.contact_key, strict=True))
    assert ("L1", "a1") in matched
    assert not (out.lead_key == "L2").any()


def test_accounts_with_suffix_and_case_variants():
    accounts = pd.DataFrame([
        {"key": "x1", "name": "Acme Inc.", "website": "https://www.acme.com/", "city": "Springfield", "country": "US"},
        {"key": "x2", "name": "ACME LLC", "website": "acme.com", "city": "Springfield", "country": "US"},
        {"key": "x3", "name": "Zenith Corp", "website": "zenith.io", "city": "Boston", "country": "US"},
    ] + [{"key": f"y{i}", "name": f"Company {i} Ltd", "website": f"c{i}.com", "city": f"C{i % 9}", "country": "US"}
         for i in range(60)])
    result = find_duplicates(accounts, "account")
    assert frozenset({"x1", "x2"}) in _clusters(result)
    assert result.clusters.set_index("cluster_id").loc[cluster_id("account", ["x1", "x2"]), "tier"] == "exact"


def test_name_based_email_local_part_is_not_extra_evidence(people):
    from checks.dedupe.compare import email_levels
    from checks.dedupe.prepare import prepare
    from checks.dedupe.settings import DedupeSettings

    frame = pd.DataFrame({"key": ["1", "2", "3", "4"], "first_name": ["Rodney", "Rodney", "Ann", "Ann"],
                          "last_name": ["Landry", "Landry", "Bo", "Bo"],
                          "email": ["rodney.landry@outlook.com", "rodney.landry@acme.com", "ab77@outlook.com",
                                    "ab77@acme.com"]})
    prep = prepare(frame, "contact", DedupeSettings())
    import numpy as np

    levels = email_levels(prep, np.array([0, 2]), np.array([1, 3]), 1)
    assert levels.tolist() == [-1, 1]  # name-derived local part: no evidence; opaque one: evidence
