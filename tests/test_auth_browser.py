"""Sign-in end to end: a real OpenID Connect provider (oidc-provider-mock, started here on
a free port), the real app configured against it, headless Chromium through the real
redirect flow. A viewer does not see the at-risk customer list; an analyst (role from an
ID-token claim) does, and the list they download is logged in the state store."""

from __future__ import annotations

import re
import secrets
import sqlite3
from pathlib import Path

import oidc_provider_mock
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import browser, serve, settled  # the shared server and Chromium set-up

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # a module-scoped fixture used below

ANALYST = "ana@example.com"  # an analyst by the `roles` claim of their ID token
VIEWER = "vic@example.com"  # on no list and without the claim: the default role


def _secrets(path: Path, provider: str) -> Path:
    path.write_text(
        f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "cx-radar"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[roles]
claim = "roles"
default = "viewer"
admin = ["boss@example.com"]
""",
        encoding="utf-8",
    )
    return path


def _sign_in(browser: Browser, url: str, sub: str) -> Page:
    """A fresh browser (no cookies) signed in as ``sub`` through the provider's form."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in to CX Radar")).to_be_visible()
    expect(page.get_by_text("Overview: the illusion of wellbeing")).to_have_count(0)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()  # the provider
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    return page


def _signed_in_as(page: Page, who: str, role: str) -> None:
    # The e-mail on screen carries an invisible word joiner before "@" (no autolink).
    name = re.escape(who).replace("@", "\u2060?@")
    expect(page.get_by_text(re.compile(f"^Signed in as {name} · {role}$"))).to_be_visible()


def test_sign_in_roles_and_the_export_log(browser, small_dir, tmp_path, monkeypatch):
    claims = [oidc_provider_mock.User(sub=ANALYST, claims={"email": ANALYST, "roles": "analyst"})]
    with oidc_provider_mock.run_server_in_thread(user_claims=claims) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        monkeypatch.setenv(
            "STREAMLIT_SECRETS_FILES", str(_secrets(tmp_path / "secrets.toml", issuer))
        )
        with serve(small_dir) as url:
            viewer = _sign_in(browser, url, VIEWER)
            _signed_in_as(viewer, VIEWER, "viewer")
            viewer.goto(f"{url}/risk")
            expect(viewer.get_by_role("heading", name="At-risk customers")).to_be_visible()
            settled(viewer)
            expect(viewer.get_by_text("your role (viewer) sees aggregates only")).to_be_visible()
            expect(viewer.get_by_test_id("stDownloadButton")).to_have_count(0)
            expect(viewer.get_by_role("columnheader", name="Customer")).to_have_count(0)

            analyst = _sign_in(browser, url, ANALYST)
            _signed_in_as(analyst, ANALYST, "analyst")
            analyst.goto(f"{url}/risk")
            button = analyst.get_by_role("button", name="Download the at-risk list (CSV)")
            expect(button).to_be_visible()
            settled(analyst)
            with analyst.expect_download() as download:
                button.click()
            body = Path(download.value.path()).read_text(encoding="utf-8-sig")
            rows = body.strip().count("\n")  # lines after the header
            assert rows > 0

    # Read after the server is gone: the row was written when the bytes were produced.
    db = sqlite3.connect(tmp_path / "cx_radar_state.sqlite")
    logged = db.execute("SELECT who, role, what, rows FROM exports").fetchall()
    db.close()
    assert logged == [(ANALYST, "analyst", "at_risk_customers.csv", rows)]
