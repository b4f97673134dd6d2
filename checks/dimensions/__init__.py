"""The checks, one module per quality dimension; `all_checks` loads them into the registry."""

from __future__ import annotations

from checks.base import REGISTRY, Check


def all_checks() -> dict[str, type[Check]]:
    """Every registered check, importing the dimension modules once."""
    from checks.dimensions import (  # noqa: F401
        accuracy,
        completeness,
        consistency,
        duplication,
        enrichment,
        freshness,
        fuzzy,
    )

    return REGISTRY
