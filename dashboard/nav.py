"""The pages of CX Radar in menu order: one list for the router, the tests and benchmarks.

Each page's script is ``app_pages/<url>.py`` and its address ``/<url>``; the Overview is
the default page, also served at the root.
"""

from __future__ import annotations

from typing import NamedTuple


class Page(NamedTuple):
    url: str  # the URL path, also the script's name under app_pages/
    title: str  # its catalogue key
    icon: str


PAGES = (
    Page("overview", "nav.overview", ":material/radar:"),
    Page("workshop", "workshop.nav", ":material/co_present:"),
    Page("risk", "nav.risk", ":material/crisis_alert:"),
    Page("tension", "nav.tension", ":material/trending_up:"),
    Page("escalations", "nav.escalations", ":material/notifications_active:"),
    Page("cost", "nav.cost", ":material/receipt_long:"),
    Page("process", "nav.process", ":material/account_tree:"),
    Page("forecast", "nav.forecast", ":material/query_stats:"),
    Page("economics", "nav.economics", ":material/payments:"),
    Page("data", "nav.data", ":material/database:"),
)
DEFAULT = "overview"
URLS = tuple(p.url for p in PAGES)


def script(url: str) -> str:
    """The page's script, relative to the app."""
    return f"app_pages/{url}.py"


def address(url: str) -> str:
    """The page's path on the server: the default page is served at the root only."""
    return "" if url == DEFAULT else url
