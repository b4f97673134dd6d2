"""A copy of a demo CRM and its history with dashboard users (admin, steward, viewer), for sign-in tests.

The copy keeps the shared demo history free of the audit entries and decisions these tests write.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import bcrypt
import yaml

PASSWORDS = {"ann": "ann-Secret-1", "sam": "sam-Secret-2", "vera": "vera-Secret-3"}
ROLES = {"ann": "admin", "sam": "steward", "vera": "viewer"}


@cache
def password_hash(name: str) -> str:
    """A bcrypt hash of the test password of `name` (the lowest cost: these tests need no strength)."""
    return bcrypt.hashpw(PASSWORDS[name].encode(), bcrypt.gensalt(4)).decode()


def secured_copy(demo_dir: Path, dest: Path, steward_entities: list[str], steward_owners: list[str],
                 **dashboard) -> Path:
    """Copy the demo CRM and history in `demo_dir` to `dest` with users added; the new config's path."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("crm.db", "cleancrm-history.db"):
        shutil.copy(demo_dir / name, dest / name)
    data = yaml.safe_load((demo_dir / "cleancrm.yml").read_text())
    users = []
    for name, role in ROLES.items():
        user = {"name": name, "role": role, "password_hash": password_hash(name)}
        if role == "steward":
            user.update(entities=steward_entities, owners=steward_owners)
        users.append(user)
    data["dashboard"] = {"users": users, **dashboard}
    path = dest / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def busiest_owner(findings, entity: str = "contact", field: str = "email") -> str:
    """The owner with the most findings on `entity`.`field`: the one a test steward is granted."""
    rows = findings[(findings.entity == entity) & (findings.field == field) & findings.owner.notna()]
    return str(rows.owner.value_counts().index[0])
