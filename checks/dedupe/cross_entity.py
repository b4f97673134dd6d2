"""Leads that duplicate existing contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from checks.dedupe.explain import pair_explanations, pattern_fields
from checks.dedupe.prepare import prepare
from checks.dedupe.scoring import score
from checks.dedupe.settings import DedupeSettings

CROSS_COLUMNS = ["lead_key", "contact_key", "score", "exact", "explanation"]
_LEAD, _CONTACT = "L", "C"


def find_cross_entity(leads: pd.DataFrame, contacts: pd.DataFrame,
                      settings: DedupeSettings | None = None) -> pd.DataFrame:
    """Match leads against contacts (a lead for someone who is already a contact).

    Leads and contacts are scored together as one person population (so EM sees both), and
    only lead-contact pairs at or above the link threshold, or linked by the exact pass,
    are returned.

    Args:
        leads: Lead records (``key`` plus canonical person columns).
        contacts: Contact records (same columns).
        settings: Pipeline settings.

    Returns:
        Frame with ``lead_key, contact_key, score, exact, explanation``, best first.
    """
    settings = settings or DedupeSettings()
    if leads.empty or contacts.empty:
        return pd.DataFrame(columns=CROSS_COLUMNS)
    both = pd.concat([leads.assign(_src=_LEAD), contacts.assign(_src=_CONTACT)], ignore_index=True)
    both["_orig"] = both["key"].astype(str)
    both["key"] = both["_src"] + ":" + both["_orig"]
    prep = prepare(both.drop(columns=["_src", "_orig"]), "lead", settings)
    scored = score(prep, settings)
    src = both["_src"].to_numpy(object)
    a, b = scored.cands.a, scored.cands.b
    cross = src[a] != src[b]
    keep = np.flatnonzero(cross & ((scored.prob >= settings.link_threshold) | scored.hard))
    a, b = a[keep], b[keep]
    lead = np.where(src[a] == _LEAD, a, b)
    contact = np.where(src[a] == _LEAD, b, a)
    fields_json = pattern_fields(scored.comps, scored.model, scored.patterns)
    explanation = pair_explanations(fields_json, scored.pattern_idx[keep], scored.weight[keep], scored.tf[keep],
                                    scored.hard[keep])
    orig = both["_orig"].to_numpy(object)
    out = pd.DataFrame({"lead_key": orig[lead], "contact_key": orig[contact],
                        "score": np.round(scored.prob[keep], 6), "exact": scored.hard[keep],
                        "explanation": explanation}, columns=CROSS_COLUMNS)
    return out.sort_values(["score", "lead_key"], ascending=[False, True], ignore_index=True)
