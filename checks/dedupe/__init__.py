"""Fuzzy duplicate detection for contacts, leads and accounts.

Pipeline: normalise -> exact pass -> blocking -> compare -> Fellegi-Sunter score (EM, term
frequencies) -> cluster -> survivor and merge plan -> explanations.

Input columns (all optional except ``key``; values may be missing):

* contacts / leads: ``first_name, last_name, email, phone, mobile, company, street, city,
  state, postal_code, country, created_at, modified_at`` and, when known, ``birth_date`` and
  ``address_2``;
* accounts: ``name, website, phone, street, city, state, postal_code, country, created_at,
  modified_at``.

Public API: :func:`find_duplicates`, :func:`find_cross_entity`, :class:`DedupeSettings`,
:class:`DedupeResult`.
"""

from checks.dedupe.cross_entity import find_cross_entity
from checks.dedupe.pipeline import DedupeResult, find_duplicates
from checks.dedupe.settings import DedupeSettings

__all__ = ["DedupeResult", "DedupeSettings", "find_cross_entity", "find_duplicates"]
