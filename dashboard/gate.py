"""Sign-in: who uses this browser session, kept in `st.session_state` and checked again on every rerun.

People sign in with a name and password from the config's `dashboard.users` (bcrypt hashes), or
through an OIDC provider with Streamlit's `st.login` when `.streamlit/secrets.toml` has an `[auth]`
section (their role from `dashboard.oidc_roles`). A session ends after `dashboard.session_minutes`,
or with the sign-out button. With neither configured the dashboard serves this computer only, and
whoever uses it there is admin. Sign-ins, failed sign-ins and sign-outs go to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import access, identity, queries
from dashboard.access import Person
from dashboard.logic import fmt_when

PERSON_KEY = "cleancrm_person"
SINCE_KEY = "cleancrm_signed_in_at"
NOTICE_KEY = "cleancrm_sign_in_notice"


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def oidc_available() -> bool:
    """Whether an OIDC provider is set up for `st.login` (an `[auth]` section in secrets.toml)."""
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # an unreadable secrets file means no provider, never a broken page
        return False


def needs_sign_in(cfg) -> bool:
    """Whether people must sign in: users are configured, or an OIDC provider is."""
    return bool(cfg.dashboard.users) or oidc_available()


def record(ctx, person: Person | None, action: str, detail: dict | None = None, records: int | None = None,
           actor: str | None = None) -> None:
    """Append an entry to the audit log for `person` (or `actor` when nobody is signed in)."""
    who = actor if actor is not None else (person.name if person else "(unknown)")
    queries.audit(ctx.url, ctx.source, who, action, detail, records)


def current(ctx) -> Person | None:
    """The person using this session, or None when they must sign in first (stops a refused page)."""
    if not needs_sign_in(ctx.cfg):
        # Streamlit gives no address for this computer's own connections; any text is another computer's.
        if isinstance(st.context.ip_address, str):
            st.error("**This dashboard serves only the computer it runs on:** no users are configured. "
                     "Add `dashboard.users` to the config to share it.")
            st.stop()
        return access.local_admin()
    person = st.session_state.get(PERSON_KEY)
    if person is None and oidc_available():
        person = _from_provider(ctx)
    if person is None:
        return None
    since = st.session_state.get(SINCE_KEY) or now()
    minutes = ctx.cfg.dashboard.session_minutes
    if identity.expired(since, minutes, now()):
        st.session_state[NOTICE_KEY] = f"Your session ended after {minutes} minute(s); sign in again."
        end(ctx, person, "expired")
        return None
    # The config is read again when it changes: a person removed or given another role is so at once.
    refreshed = _as_configured(ctx.cfg, person)
    if refreshed is None:
        st.session_state[NOTICE_KEY] = "Your access was withdrawn in the configuration."
        end(ctx, person, "withdrawn")
        return None
    return refreshed


def _as_configured(cfg, person: Person) -> Person | None:
    """`person` as the config describes them now (None when no longer there)."""
    if person.method == "oidc":
        return identity.oidc_person(person.name, cfg.dashboard.oidc_roles)
    user = next((u for u in cfg.dashboard.users if u.name == person.name), None)
    return None if user is None or not user.password_hash else access.from_user(user)


def _from_provider(ctx) -> Person | None:
    """The person the OIDC provider signed in (first seen in this session: audited), if they have a role."""
    if not st.user.is_logged_in:
        return None
    person = identity.oidc_person(st.user.get("email"), ctx.cfg.dashboard.oidc_roles)
    if person is None:
        return None
    # The identity cookie outlives browser sessions: count the session from when the provider signed them in.
    issued = st.user.get("iat")
    since = datetime.fromtimestamp(float(issued), UTC) if isinstance(issued, int | float) else now()
    st.session_state[PERSON_KEY], st.session_state[SINCE_KEY] = person, since
    if not identity.expired(since, ctx.cfg.dashboard.session_minutes, now()):
        record(ctx, person, "sign_in", {"method": "oidc"})
    return person


def sign_in(ctx, name: str, password: str) -> Person | None:
    """Check a name and password against the config's users; a success starts the session. Both are audited."""
    person = identity.authenticate(ctx.cfg.dashboard.users, name, password)
    if person is None:
        record(ctx, None, "sign_in_failed", {"method": "password"}, actor=name.strip() or "(no name)")
        return None
    st.session_state[PERSON_KEY], st.session_state[SINCE_KEY] = person, now()
    st.session_state.pop(NOTICE_KEY, None)
    record(ctx, person, "sign_in", {"method": "password"})
    return person


def end(ctx, person: Person, reason: str = "signed out") -> None:
    """End the session: audited, forgotten; an OIDC session is also ended at Streamlit's identity cookie."""
    record(ctx, person, "sign_out", {"reason": reason, "method": person.method})
    st.session_state.pop(PERSON_KEY, None)
    st.session_state.pop(SINCE_KEY, None)
    if person.method == "oidc":
        st.logout()


def session_caption(ctx, person: Person) -> str:
    """`Signed in as **sam** (steward) until 2025-11-23 14:00 UTC`, or the local notice."""
    if person.method == "local":
        address = st.get_option("server.address")
        return (f"**No users configured:** this dashboard serves this computer only"
                f"{f' (`{address}`)' if address else ''}, and everyone using it here is admin. "
                "Add `dashboard.users` to the config to share it.")
    since = st.session_state.get(SINCE_KEY) or now()
    until = identity.expires_at(since, ctx.cfg.dashboard.session_minutes)
    return f"Signed in as **{person.name}** ({person.role}) until {fmt_when(until)}"


def sign_out_button(ctx, person: Person) -> None:
    """The sidebar's sign-out button (nothing to sign out of on this computer without users)."""
    if person.method == "local":
        return
    if st.button("Sign out", icon=":material/logout:", key="sign_out", width="stretch"):
        end(ctx, person)
        st.rerun()
