"""The role rules: what each role may do on the dashboard, and whose records it sees unmasked.

Roles, from the config's `dashboard.users` (or `dashboard.oidc_roles`):

- viewer: scores, trends and records with personal data masked; no export, no decision, no run;
- steward: records of the entities and owners they are granted unmasked (others masked), exports
  and duplicate decisions under their own name;
- admin: everything, all records unmasked, runs from the page, annotations, the configuration
  and the audit log.

Without any user configured the dashboard serves this computer only and whoever uses it there is
admin (`local_admin`). Pages only ask this module; nothing here imports streamlit.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

ROLES = ("viewer", "steward", "admin")
# What a role may do beyond reading scores, trends and masked records.
ACTIONS = ("export", "decide", "run", "annotate", "configuration", "audit", "incident")
_ALLOWED = {
    "viewer": frozenset(),
    "steward": frozenset({"export", "decide", "incident"}),
    "admin": frozenset(ACTIONS),
}
_WHAT = {
    "export": "Exports and downloads",
    "decide": "Duplicate decisions",
    "run": "Starting a run",
    "annotate": "Recording an intervention",
    "configuration": "The configuration view",
    "audit": "The audit log",
    "incident": "Acknowledging, resolving and commenting on incidents",
}


@dataclass(frozen=True)
class Person:
    """Someone using the dashboard, as the role rules see them.

    Attributes:
        name: Sign-in name (an e-mail address with OIDC), recorded in the audit log and on decisions.
        role: viewer, steward or admin.
        entities: Entities a steward sees unmasked; empty = all.
        owners: Owner ids a steward sees unmasked; empty = all.
        method: How they came in: password, oidc, or local (no users configured).
    """

    name: str
    role: str
    entities: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()
    method: str = "password"


def from_user(user) -> Person:
    """The person a `UserConfig` of the config signs in as."""
    return Person(name=user.name, role=user.role, entities=frozenset(user.entities),
                  owners=frozenset(str(o) for o in user.owners), method="password")


def local_admin() -> Person:
    """Whoever uses the dashboard on this computer when no user is configured: admin, as before sign-in existed."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = "unknown"
    return Person(name=f"local:{who}", role="admin", method="local")


def may(person: Person | None, action: str) -> bool:
    """Whether `person` may do `action` (one of ACTIONS)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown dashboard action {action!r}; use one of {', '.join(ACTIONS)}")
    return person is not None and action in _ALLOWED.get(person.role, frozenset())


def lowest_role(action: str) -> str:
    """The least role that may do `action`."""
    return next(role for role in ROLES if action in _ALLOWED[role])


def refusal(person: Person | None, action: str) -> str:
    """Why `person` may not do `action`, in a sentence for the page."""
    role = person.role if person else "signed out"
    need = lowest_role(action)
    others = " or admin" if need != "admin" else ""
    return f"{_WHAT[action]} need the {need}{others} role; you are signed in as {role}."


def sees_unmasked(person: Person | None, entity: str | None, owner) -> bool:
    """Whether `person` sees the personal data of a record of `entity` owned by `owner` unmasked."""
    if person is None or person.role == "viewer":
        return False
    if person.role == "admin":
        return True
    if person.entities and entity not in person.entities:
        return False
    if person.owners:
        return owner is not None and str(owner) in person.owners
    return True


def sees_all_unmasked(person: Person | None) -> bool:
    """Whether `person` sees every record unmasked (an admin, or a steward granted everything)."""
    if person is None or person.role == "viewer":
        return False
    return person.role == "admin" or (not person.entities and not person.owners)
