"""Sign-in for a team server: who is looking, with which role, and what that role may do.

* **Configured** when Streamlit's secrets (``.streamlit/secrets.toml``, or the files named
  by ``--secrets.files``) hold an ``[auth]`` section: Streamlit's own OpenID Connect
  settings for ``st.login`` (``redirect_uri``, ``cookie_secret``, ``client_id``,
  ``client_secret``, ``server_metadata_url``). Every page then waits for a sign-in.
* **Roles** (``[roles]`` in the same secrets): ``viewer`` sees aggregates only, ``analyst``
  also customer-level lists and their exports, ``admin`` also edits rules and settings.
  A role comes from an ID-token claim named by ``claim`` (a role name or a list of them)
  and from the e-mail lists ``viewer``, ``analyst``, ``admin``; the highest one found
  wins. Nobody found: ``default`` (``viewer`` unless set; ``"none"`` refuses them).
* **Unconfigured**: open single-user mode with every right, as before sign-in existed; the
  server binds 127.0.0.1, so only this machine can connect.
* Every download of customer-level data is logged in the state store (who, role, when,
  which file, how many rows) at the moment its bytes are produced, not when the button is
  drawn, so a file nobody fetched is not logged and a fetched one always is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st
from streamlit import config
from streamlit.delta_generator import DeltaGenerator
from streamlit.errors import StreamlitAuthError

from analytics.store import Store, StoreError
from dashboard.escape import md
from dashboard.i18n import in_language, t
from dashboard.state import escalation_store
from dashboard.tables import show

ROLES = ("viewer", "analyst", "admin")  # each role holds the rights of those before it
RIGHTS = {"customers": "analyst", "settings": "admin"}  # right -> the lowest role holding it
NO_ROLE = "none"  # `default = "none"`: a signed-in user with no role is refused
OPEN_NAME = "local (no sign-in)"  # who exports in open mode, in the log
_log = logging.getLogger("cx_radar")


class AuthConfigError(ValueError):
    """The ``[roles]`` settings cannot be used; the message says which value and why."""


@dataclass(frozen=True)
class RoleConfig:
    """How a signed-in user's claims become a role (the ``[roles]`` section)."""

    claim: str | None = None
    default: str | None = "viewer"  # None: refused
    members: dict[str, str] = field(default_factory=dict)  # e-mail (lower case) -> role

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> RoleConfig:
        known = {"claim", "default", *ROLES}
        unknown = sorted(set(section) - known)
        if unknown:
            raise AuthConfigError(
                f"[roles]: unknown key {unknown[0]!r} (expected {', '.join(sorted(known))})"
            )
        claim = section.get("claim")
        if claim is not None and (not isinstance(claim, str) or not claim.strip()):
            raise AuthConfigError("[roles] claim: expected the name of an ID-token claim")
        default = str(section.get("default", "viewer")).strip().lower()
        if default not in (*ROLES, NO_ROLE):
            raise AuthConfigError(
                f"[roles] default: {default!r} is not one of {', '.join((*ROLES, NO_ROLE))}"
            )
        members: dict[str, str] = {}
        for role in ROLES:  # ascending: a person in two lists keeps the higher role
            emails = section.get(role, [])
            if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
                raise AuthConfigError(f"[roles] {role}: expected a list of e-mail addresses")
            members.update({e.strip().lower(): role for e in emails if e.strip()})
        return cls(
            claim.strip() if claim else None, None if default == NO_ROLE else default, members
        )


def resolve_role(claims: Mapping[str, Any], config: RoleConfig) -> str | None:
    """The highest role the claims give: role names in ``config.claim`` (unknown names
    ignored, case-insensitive) and the lists the e-mail is on (unless the provider says
    it is unverified); else ``config.default``. ``None``: no role, refused."""
    found: list[str] = []
    if config.claim:
        value = claims.get(config.claim)
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found += [n.strip().lower() for n in names if isinstance(n, str)]
    email = claims.get("email")
    if isinstance(email, str) and claims.get("email_verified") is not False:
        found += [config.members.get(email.strip().lower(), "")]
    roles = [r for r in found if r in ROLES]
    return max(roles, key=ROLES.index) if roles else config.default


def allows(role: str | None, right: str) -> bool:
    """Whether ``role`` holds ``right`` (``customers`` or ``settings``)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(RIGHTS[right])


@dataclass(frozen=True)
class Person:
    """Who is looking: a name for the screen and the log, and a role (None: refused)."""

    name: str
    role: str | None
    signed_in: bool


OPEN = Person(OPEN_NAME, "admin", signed_in=False)


def configured() -> bool:
    """Sign-in is on: Streamlit's secrets hold an ``[auth]`` section. A secrets file that
    exists but cannot be read raises :class:`AuthConfigError`: a typo must not open the
    server to everyone."""
    if st.secrets.load_if_toml_exists():
        return "auth" in st.secrets
    # the files Streamlit's secrets read (config.get_option: what the secrets module sees)
    broken = [f for f in config.get_option("secrets.files") if Path(f).is_file()]
    if broken:
        raise AuthConfigError(f"{broken[0]}: the secrets file cannot be read as TOML")
    return False


def role_config() -> RoleConfig:
    section = st.secrets.get("roles", {}) if st.secrets.load_if_toml_exists() else {}
    if not isinstance(section, Mapping):
        raise AuthConfigError("[roles]: expected a table")
    return RoleConfig.from_mapping(section)


def current() -> Person | None:
    """The person looking; ``None`` when sign-in is on and nobody has signed in yet.
    Computed from ``st.user`` on every call, never kept where a client could set it.
    Raises :class:`AuthConfigError` when the settings cannot be used."""
    if not configured():
        return OPEN
    if st.user.get("is_logged_in") is not True:
        return None
    claims = st.user.to_dict()
    name = next(
        (str(claims[k]) for k in ("email", "name", "sub") if claims.get(k)), "?"
    )  # the provider always sends sub; the others when the scopes allow
    return Person(name, resolve_role(claims, role_config()), signed_in=True)


def can(right: str) -> bool:
    """Whether the person looking holds ``right`` (``customers`` or ``settings``)."""
    try:
        person = current()
    except AuthConfigError:
        return False
    return person is not None and allows(person.role, right)


def actor() -> str:
    """Who acts, for records such as acknowledgements: the signed-in person, else "app"."""
    person = _safe_current()
    return person.name if person is not None and person.signed_in else "app"


def _role_name(person: Person | None) -> str:
    return t(f"auth.role.{person.role}") if person and person.role else "—"


def sign_in_gate() -> Person:
    """Before any page: the sign-in screen, a refusal, or the account in the sidebar.
    Stops the run unless the person may look at all."""
    try:
        person = current()
    except AuthConfigError as exc:  # fail closed: nobody in until the settings are fixed
        st.error(t("auth.bad_config", error=md(exc)))
        st.stop()
    if person is OPEN:
        return OPEN
    if person is None:
        st.title(t("auth.title"))
        st.markdown(t("auth.intro"))
        if st.button(t("auth.sign_in"), type="primary"):
            try:
                st.login()
            except StreamlitAuthError as exc:  # an [auth] section Streamlit cannot use
                st.error(t("auth.bad_config", error=md(exc)))
        st.stop()
    if person.role is None:
        st.error(t("auth.no_role", who=md(person.name)))
        if st.button(t("auth.sign_out")):
            st.logout()
        st.stop()
    with st.sidebar:
        st.caption(t("auth.signed_in", who=md(person.name), role=_role_name(person)))
        if st.button(t("auth.sign_out"), key="auth_sign_out"):
            st.logout()
    return person


def customer_lists() -> bool:
    """True when customer-level lists may be shown here; else one line says why."""
    if can("customers"):
        return True
    st.info(t("auth.customers_hidden", role=_role_name(_safe_current())))
    return False


def settings_editable(why: str = "auth.settings_locked") -> bool:
    """True when rules and settings may be edited here; else one line (``why``) says so."""
    if can("settings"):
        return True
    st.caption(t(why, role=_role_name(_safe_current())))
    return False


def _safe_current() -> Person | None:
    try:
        return current()
    except AuthConfigError:
        return None


def log_export(person: Person, what: str, rows: int | None) -> None:
    """Record one export in the state store. With sign-in on, a failure to record stops
    the export (raises); in open mode it is logged on the server and the export goes on."""
    try:
        with Store.open(escalation_store()) as store:
            store.log_export(person.name, person.role or "", what, rows)
    except StoreError:
        if person.signed_in:
            raise
        _log.warning("export of %s not logged: the state store is unusable", what, exc_info=True)


def export_button(
    label: str,
    data: bytes | str | Callable[[], bytes | str],
    file_name: str,
    mime: str,
    *,
    rows: int | None = None,
    where: DeltaGenerator | None = None,
    key: str | None = None,
) -> None:
    """A download of customer-level data: for analysts and admins only, each download
    logged (who, when, ``file_name``, ``rows``) when its bytes are produced. ``data`` may
    be a callable, so the file is built only when someone asks for it."""
    target = where if where is not None else st
    if not can("customers"):
        target.caption(t("auth.export_hidden"))
        return
    person = current() or OPEN
    produce = in_language(data) if callable(data) else None

    def deliver() -> bytes | str:  # runs on the server's thread for the download
        body = produce() if produce is not None else data
        log_export(person, file_name, rows)
        return body  # type: ignore[return-value]

    target.download_button(label, deliver, file_name=file_name, mime=mime, key=key)


def exports_log() -> None:
    """For admins: the latest logged exports of customer-level data."""
    if not can("settings"):
        return
    with st.expander(t("auth.exports_log")):
        path = escalation_store()
        rows: list[dict[str, Any]] = []
        try:
            if path.exists():  # not created just by looking
                with Store.open(path) as store:
                    rows = store.exports(200)
        except StoreError as exc:
            st.error(t("store.refused", error=md(exc)))
            return
        if not rows:
            st.caption(t("auth.exports_none"))
            return
        words = {"at": "at", "who": "who", "role": "role_col", "what": "what", "rows": "rows"}
        labels = {c: t(f"auth.{k}") for c, k in words.items()}
        show(pl.DataFrame(rows), {"rows": "count"}, labels=labels)
        st.caption(t("auth.exports_help"))
