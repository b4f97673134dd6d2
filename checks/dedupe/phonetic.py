"""American Soundex, used as the phonetic part of blocking keys.

Implemented here (a dozen lines) rather than adding a dependency; it runs once per distinct
folded name.
"""

from __future__ import annotations

import numpy as np

_CODES = {c: d for d, letters in {"1": "bfpv", "2": "cgjkqsxz", "3": "dt", "4": "l", "5": "mn",
                                   "6": "r"}.items() for c in letters}


def soundex(name: str) -> str | None:
    """Soundex code of a folded name ("robert" -> "r163"); ``None`` if it has no letters.

    Spaces and punctuation are ignored, so "van der berg" and "vanderberg" share a code.
    """
    letters = [c for c in name if "a" <= c <= "z"]
    if not letters:
        return None
    out, last = [letters[0]], _CODES.get(letters[0], "")
    for c in letters[1:]:
        code = _CODES.get(c, "")
        if code and code != last:
            out.append(code)
            if len(out) == 4:
                break
        if c not in "hw":
            last = code
    return "".join(out).ljust(4, "0")


def soundex_array(values: np.ndarray) -> np.ndarray:
    """Soundex of every value in an object array (``None`` stays ``None``)."""
    return np.array([soundex(v) if v else None for v in values], dtype=object)
