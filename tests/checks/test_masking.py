from __future__ import annotations

import pandas as pd
import pytest

from checks.masking import mask, mask_findings


@pytest.mark.parametrize(("field", "value", "shown"), [
    pytest.param("email", "jane.doe@acme.com", "j•••@acme.com", id="email"),
    pytest.param("email", "not an address", "n•••", id="email-without-at"),
    pytest.param("phone", "+1 415 555 0132", "+1 ••• ••• 0132", id="phone-international"),
    pytest.param("phone:mobile", "(415) 555-0132", "••• ••• 0132", id="phone-national-list-column"),
    pytest.param("phone", "12", "•••", id="phone-too-short-to-keep-digits"),
    pytest.param("first_name", "Jane", "J.", id="first-name"),
    pytest.param("last_name", "van der Berg-Smith", "V. D. B. S.", id="last-name-words"),
    pytest.param("street", "12 Main Street", "1•••", id="street"),
    pytest.param("country", "US", "US", id="not-personal"),
    pytest.param("email", None, None, id="missing"),
    pytest.param(None, "jane@acme.com", "jane@acme.com", id="no-field"),
    pytest.param(float("nan"), "jane@acme.com", "jane@acme.com", id="field-read-back-as-nan"),
])
def test_mask(field, value, shown):
    assert mask(field, value) == shown


def test_mask_findings_masks_value_and_suggestion_by_field():
    frame = pd.DataFrame({"field": ["email", "country", "phone"], "value": ["Jane@Acme.com", "USA", "+44 20 7946 0018"],
                          "suggestion": ["jane@acme.com", "US", "+442079460018"]})
    out = mask_findings(frame)
    assert out.value.tolist() == ["J•••@Acme.com", "USA", "+44 ••• ••• 0018"]
    assert out.suggestion.tolist() == ["j•••@acme.com", "US", "+44 ••• ••• 0018"]
    only_phone = mask_findings(frame, only={"phone"})
    assert only_phone.value.tolist() == ["Jane@Acme.com", "USA", "+44 ••• ••• 0018"]
    assert frame.value.iat[0] == "Jane@Acme.com"  # the caller's frame is left alone


def test_instructions_are_not_masked_but_fixed_values_are():
    frame = pd.DataFrame({"field": ["phone", "last_name", "last_name", "email"],
                          "value": ["12", "SMITH", "Acme Inc.", "ann@gmial.com"],
                          "suggestion": ["re-enter the number with its country code", "Smith",
                                         "move it to the company field", "ann@gmail.com"]})
    out = mask_findings(frame)
    assert out.suggestion.tolist() == ["re-enter the number with its country code", "S.",
                                       "move it to the company field", "a•••@gmail.com"]
