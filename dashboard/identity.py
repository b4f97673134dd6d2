"""Who someone is and for how long: bcrypt passwords, OIDC e-mail addresses to roles, session expiry.

Hashes are made by `cleancrm hash-password`; this module only checks passwords against them.

Nothing here imports streamlit: `dashboard.gate` keeps the signed-in person in the session and
asks these functions on every rerun.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import bcrypt

from dashboard.access import Person, from_user


@cache
def _stand_in_hash() -> bytes:
    """Checked against when the name is unknown, so that a wrong name costs as long as a wrong password.

    The time a refusal takes must not tell which names exist.
    """
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt())


def password_matches(password: str, password_hash: str | None) -> bool:
    """Whether `password` is the one `password_hash` was made from; False for a missing or malformed hash."""
    if not password_hash:
        return False
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):  # not a bcrypt hash (a typo), or a password over 72 bytes
        return False


def authenticate(users, name: str, password: str) -> Person | None:
    """The person `name` signs in as with `password`, or None (unknown name, no hash, wrong password).

    `users` is the config's `dashboard.users`. Names are compared exactly (after trimming spaces).
    """
    wanted = name.strip()
    user = next((u for u in users if u.name == wanted), None)
    if user is None or not user.password_hash:
        bcrypt.checkpw(password.encode("utf-8")[:72], _stand_in_hash())  # the same cost as a real check
        return None
    return from_user(user) if password_matches(password, user.password_hash) else None


def oidc_person(email: str | None, oidc_roles: dict[str, str]) -> Person | None:
    """The person an OIDC provider signed in, with the role `dashboard.oidc_roles` gives their e-mail address.

    Addresses are compared without case; an address not listed gets no role (None): signing in at the
    provider is not enough to see the dashboard.
    """
    if not email:
        return None
    roles = {address.strip().lower(): role for address, role in oidc_roles.items()}
    role = roles.get(email.strip().lower())
    return None if role is None else Person(name=email.strip(), role=role, method="oidc")


def expires_at(signed_in_at: datetime, session_minutes: int) -> datetime:
    """When a session that began at `signed_in_at` ends."""
    return signed_in_at + timedelta(minutes=session_minutes)


def expired(signed_in_at: datetime, session_minutes: int, now: datetime) -> bool:
    """Whether a session that began at `signed_in_at` is over at `now`."""
    return now >= expires_at(signed_in_at, session_minutes)
