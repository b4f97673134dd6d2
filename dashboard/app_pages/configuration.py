"""Configuration (admins): the effective config with its secrets redacted, and who may sign in."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import access, config_view, context, logic

ctx = context.get()
st.title("Configuration")
if not access.may(ctx.person, "configuration"):  # the page is not listed for others; a stale link stops here
    st.warning(access.refusal(ctx.person, "configuration"))
    st.stop()

st.caption(f"The config the dashboard reads now (`{ctx.config_path}`), after `${{ENV}}` interpolation and with "
           "defaults filled in. Passwords, password hashes, tokens and secrets are replaced by •••, database URLs "
           "lose their password and web URLs their path.")

users = ctx.cfg.dashboard.users
st.subheader("Who may sign in")
if not users and not ctx.cfg.dashboard.oidc_roles:
    st.info("No users are configured: the dashboard serves this computer only, and everyone using it here is admin.")
else:
    people = pd.DataFrame(
        [{"name": u.name, "role": u.role, "signs in with": "password" if u.password_hash else "(no password set)",
          "entities": ", ".join(u.entities) or "all", "owners": ", ".join(u.owners) or "all"} for u in users]
        + [{"name": email, "role": role, "signs in with": "OIDC provider", "entities": "all", "owners": "all"}
           for email, role in ctx.cfg.dashboard.oidc_roles.items()],
        columns=["name", "role", "signs in with", "entities", "owners"])
    st.dataframe(people, hide_index=True, width="stretch", column_config=logic.headers(people.columns))
    st.caption(f"Sessions end after {ctx.cfg.dashboard.session_minutes} minutes. "
               "Stewards see the records of their entities and owners unmasked (empty = all).")

st.subheader("Effective configuration")
st.code(config_view.redacted_yaml(ctx.cfg), language="yaml")
