"""Sign in: the only page shown until someone signs in (name and password, or the OIDC provider)."""

from __future__ import annotations

import streamlit as st

from dashboard import context, gate

ctx = context.get()
_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Sign in")
    st.caption(f"cleancrm · data quality of **{ctx.source}**")
    notice = st.session_state.pop(gate.NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/schedule:")

    if gate.oidc_available():
        if st.user.is_logged_in:
            # Signed in at the provider, but the config gives that address no role.
            st.warning(f"**{st.user.get('email') or 'This account'}** has no role on this dashboard. "
                       "Ask an admin to add it under `dashboard.oidc_roles`.", icon=":material/block:")
            if st.button("Sign out", key="oidc_sign_out"):
                st.logout()
        elif st.button("Sign in with your organisation's account", type="primary", icon=":material/login:",
                       key="oidc_sign_in"):
            try:
                st.login()
            except Exception as exc:  # Authlib missing, or [auth] incomplete: say which
                st.error(f"Signing in through the provider is not set up correctly: {exc}")

    if ctx.cfg.dashboard.users:
        with st.form("sign_in_form", border=True):
            name = st.text_input("Name", key="sign_in_name", autocomplete="username")
            password = st.text_input("Password", type="password", key="sign_in_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:",
                                              key="sign_in_submit", width="stretch")
        if submitted:
            if gate.sign_in(ctx, name, password):
                st.rerun()
            st.error("Unknown name or wrong password.", icon=":material/error:")
    st.caption("Your session ends after "
               f"{ctx.cfg.dashboard.session_minutes} minutes, or when you sign out. Sign-ins are recorded.")
