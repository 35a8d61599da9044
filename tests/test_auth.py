"""Sign-in: role resolution, the export log in the state store, and what each role sees
(AppTest seeds ``st.user`` and the secrets; the real redirect flow is in
test_auth_browser.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from analytics.store import Store, StoreError
from dashboard import auth
from dashboard.auth import OPEN, AuthConfigError, Person, RoleConfig, allows, resolve_role

APP = "../dashboard/app.py"
TIMEOUT = 120
ROLES = {
    "claim": "groups",
    "default": "viewer",
    "viewer": ["vic@example.com"],
    "analyst": ["Ana@Example.com", "both@example.com"],
    "admin": ["both@example.com"],
}


def app_state() -> Path:
    return Path(os.environ["CX_RADAR_STATE"])  # set for every test (conftest)


def _role(claims: dict, section: dict = ROLES) -> str | None:
    return resolve_role(claims, RoleConfig.from_mapping(section))


# ------------------------------------------------------------ role resolution


def test_role_from_the_claim_a_name_or_a_list_highest_wins():
    assert _role({"email": "x@example.com", "groups": "analyst"}) == "analyst"
    assert _role({"email": "x@example.com", "groups": ["viewer", " Admin "]}) == "admin"
    # names that are no role are ignored, not an error
    assert _role({"email": "x@example.com", "groups": ["cx-staff", "analyst"]}) == "analyst"
    # the claim is only read when configured
    assert _role({"email": "x@example.com", "groups": "admin"}, {"default": "viewer"}) == "viewer"


def test_role_from_the_toml_lists_case_insensitive_highest_wins():
    assert _role({"email": "ana@example.com"}) == "analyst"
    assert _role({"email": "both@example.com"}) == "admin"  # on two lists
    assert _role({"email": "vic@example.com", "groups": "analyst"}) == "analyst"  # list + claim
    assert _role({"email": "both@example.com", "groups": "viewer"}) == "admin"


def test_an_unverified_email_is_not_matched_against_the_lists():
    assert _role({"email": "both@example.com", "email_verified": False}) == "viewer"
    assert _role({"email": "both@example.com", "email_verified": True}) == "admin"


def test_unknown_users_get_the_default_role_or_none():
    assert _role({"email": "stranger@example.com", "sub": "1"}) == "viewer"
    assert _role({"sub": "1"}, {**ROLES, "default": "analyst"}) == "analyst"
    assert _role({"email": "stranger@example.com"}, {**ROLES, "default": "none"}) is None
    assert _role({"email": "ana@example.com"}, {**ROLES, "default": "none"}) == "analyst"
    assert RoleConfig.from_mapping({}).default == "viewer"  # nothing set: viewer


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"admins": ["a@example.com"]}, "unknown key 'admins'"),
        ({"default": "owner"}, "'owner' is not one of viewer, analyst, admin, none"),
        ({"analyst": "a@example.com"}, "[roles] analyst: expected a list"),
        ({"claim": ""}, "[roles] claim"),
    ],
)
def test_a_wrong_roles_section_is_refused_with_a_reason(section, says):
    with pytest.raises(AuthConfigError) as err:
        RoleConfig.from_mapping(section)
    assert says in str(err.value)


def test_rights_by_role():
    table = {r: (allows(r, "customers"), allows(r, "settings")) for r in (*auth.ROLES, None)}
    assert table == {
        "viewer": (False, False),
        "analyst": (True, False),
        "admin": (True, True),
        None: (False, False),
    }


# ------------------------------------------------------------ the export log


def test_exports_are_logged_newest_first(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        store.log_export("ana@example.com", "analyst", "at_risk_customers.csv", 41, at="T1")
        store.log_export("bob@example.com", "admin", "customers_cost.csv", None, at="T2")
        assert store.exports() == [
            {
                "at": "T2",
                "who": "bob@example.com",
                "role": "admin",
                "what": "customers_cost.csv",
                "rows": None,
            },
            {
                "at": "T1",
                "who": "ana@example.com",
                "role": "analyst",
                "what": "at_risk_customers.csv",
                "rows": 41,
            },
        ]
        assert len(store.exports(limit=1)) == 1


def test_a_store_from_before_the_export_log_gains_it_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite"
    with Store.open(path) as store:
        store.ack(["a1"], by="app", at="T0")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE exports")  # as a store written before this version
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.acks() == ["a1"]
        store.log_export("ana@example.com", "analyst", "x.csv", 1)
        assert [e["what"] for e in store.exports()] == ["x.csv"]


def test_with_sign_in_an_export_that_cannot_be_logged_fails(tmp_path, monkeypatch):
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_bytes(b"not a database at all")
    monkeypatch.setenv("CX_RADAR_STATE", str(foreign))
    with pytest.raises(StoreError):
        auth.log_export(Person("ana@example.com", "analyst", signed_in=True), "x.csv", 1)
    auth.log_export(OPEN, "x.csv", 1)  # open mode: the export goes on, the server logs why
    assert foreign.read_bytes() == b"not a database at all"


def test_the_download_is_logged_when_its_bytes_are_made(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: drawn.update(data=data))
    made = []
    auth.export_button(
        "Download", lambda: made.append(1) or b"a\n1\n", "list.csv", "text/csv", rows=1
    )
    state = tmp_path / "cx_radar_state.sqlite"  # CX_RADAR_STATE, set for every test
    assert made == [] and not state.exists()  # drawn, not yet fetched: nothing built or logged
    assert drawn["data"]() == b"a\n1\n"
    with Store.open(state) as store:
        [row] = store.exports()
    assert (row["who"], row["role"], row["what"], row["rows"]) == (
        "local (no sign-in)",
        "admin",
        "list.csv",
        1,
    )


# ------------------------------------------------------------ what each role sees


def _auth_secrets() -> dict:
    return {
        "auth": {
            "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
            "cookie_secret": "a-test-secret-of-enough-length",
            "client_id": "cx-radar",
            "client_secret": "s",
            "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration",
        },
        "roles": dict(ROLES),
    }


@pytest.fixture
def app(small_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets.update(_auth_secrets())
    return at


def _as(at: AppTest, email: str | None, **claims: object) -> AppTest:
    at.user = (
        {"is_logged_in": True, "email": email, "sub": email, **claims}
        if email
        else {"is_logged_in": False}
    )
    return at


def test_configured_and_not_signed_in_shows_only_the_sign_in_screen(app):
    at = _as(app, None).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to CX Radar"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe  # no page ran


def test_a_user_without_a_role_is_refused(app):
    app.secrets["roles"] = {**ROLES, "default": "none"}
    at = _as(app, "stranger@example.com").run()
    assert not at.exception
    assert "has no role on this server" in at.error[0].value
    assert not at.title


def test_a_wrong_roles_section_lets_nobody_in(app):
    app.secrets["roles"] = {"default": "owner"}
    at = _as(app, "both@example.com").run()
    assert "Sign-in is configured wrongly" in at.error[0].value
    assert not at.title


def _customer_table(at: AppTest) -> bool:
    return any("customer_id" in d.value.columns for d in at.dataframe)


def test_a_viewer_sees_the_risk_aggregates_but_not_the_customer_list(app):
    at = _as(app, "vic@example.com").switch_page("app_pages/risk.py").run()
    assert not at.exception
    assert at.title[0].value == "Risk: who is about to leave"
    assert any(m.label == "Expected leavers" for m in at.metric)  # aggregates are there
    assert any("your role (viewer) sees aggregates only" in i.value for i in at.info)
    assert not _customer_table(at)
    assert not at.get("download_button")
    assert "vic\u2060@example.com · viewer" in at.sidebar.caption[0].value


def test_an_analyst_sees_the_customer_list_and_its_export(app):
    at = _as(app, "x@example.com", groups=["analyst"]).switch_page("app_pages/risk.py").run()
    assert not at.exception
    assert _customer_table(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Download the at-risk list (CSV)"]
    assert not any("aggregates only" in i.value for i in at.info)


def _downloads(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_a_viewer_gets_no_customer_rows_and_no_editing_on_the_other_pages(app):
    at = _as(app, "vic@example.com")
    at.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    picks = [s.options for s in at.selectbox if s.key == "esc_pick"]
    assert not any("Customer" in o for options in picks for o in options)
    assert "Apply the rules" not in [b.label for b in at.button]
    assert not _downloads(at)
    at.switch_page("app_pages/cost.py").run()
    assert not at.exception
    assert not any(s.value.startswith("Twins") for s in at.subheader)
    assert not _downloads(at)  # no case or customer lists to export
    assert "Cost rates" not in [e.label for e in at.expander]  # the rates editor
    assert any("your role (viewer) sees aggregates only" in i.value for i in at.info)
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    assert at.table  # the load summary is an aggregate
    assert not at.dataframe and not at.get("file_uploader")
    assert any("Uploads, the column mapping" in c.value for c in at.caption)


def test_an_analyst_sees_customer_alerts_and_exports_but_edits_no_rules(app):
    at = _as(app, "ana@example.com").switch_page("app_pages/escalations.py").run()
    assert not at.exception
    [options] = [s.options for s in at.selectbox if s.key == "esc_pick"]
    assert any(o.startswith("Customer C") for o in options)
    assert _downloads(at) == ["Download alerts (JSON)", "Download alerts (CSV)"]
    assert "Apply the rules" not in [b.label for b in at.button]


def test_an_admin_edits_rules_uploads_and_sees_the_export_log(app):
    at = _as(app, "both@example.com").switch_page("app_pages/escalations.py").run()
    assert "Apply the rules" in [b.label for b in at.button]
    at.switch_page("app_pages/cost.py").run()
    assert "Cost rates" in [e.label for e in at.expander]
    with Store.open(app_state()) as store:
        store.log_export("ana@example.com", "analyst", "at_risk_customers.csv", 41, at="T1")
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    assert at.get("file_uploader")
    [log] = [e for e in at.expander if e.label.startswith("Exports of customer-level data")]
    frame = log.dataframe[0].value
    assert frame.to_dict("records") == [
        {
            "at": "T1",
            "who": "ana@example.com",
            "role": "analyst",
            "what": "at_risk_customers.csv",
            "rows": 41,
        }
    ]


def test_the_sign_in_screen_speaks_the_chosen_language(app):
    app.query_params["lang"] = "RU"
    at = _as(app, None).run()
    assert [t.value for t in at.title] == ["Вход в CX Radar"]
    assert [b.label for b in at.button] == ["Войти"]


def test_unconfigured_it_runs_open_with_every_right(small_dir, monkeypatch):
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).switch_page("app_pages/data.py").run()
    assert not at.exception
    assert not any("Signed in" in c.value for c in at.sidebar.caption)
    assert at.dataframe and at.get("file_uploader")  # previews, uploads
    assert any(e.label.startswith("Exports of customer-level data") for e in at.expander)


def test_an_auth_section_streamlit_cannot_use_is_said_not_raised(app):
    # st.login validates Streamlit's own secrets, which hold no [auth] in this test.
    at = _as(app, None).run()
    at.button[0].click().run()
    assert not at.exception
    assert "Sign-in is configured wrongly" in at.error[0].value


def test_a_secrets_file_that_is_not_toml_lets_nobody_in(tmp_path):
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth\nclient_id = "cx-radar"\n', encoding="utf-8")
    with patch_config_options({"secrets.files": [str(broken)]}):
        with pytest.raises(AuthConfigError, match="cannot be read as TOML"):
            auth.configured()
        assert not auth.can("customers") and not auth.can("settings")
    assert auth.configured() is False  # no secrets file at all: open, as before
