"""AppTest of the Cost and Process pages on logs that are not contact-centre exports: a
plain process log (case, activity, time, resource) and a ticket system's status updates."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.mapping import Mapping

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file
TIMEOUT = 120
STATUS = Path(__file__).parent / "data" / "status"
ITSM = {
    "case_id": "number",
    "activity": "incident_state",
    "timestamp": "sys_updated_at",
    "resource": "assignment_group",
}


def _uploaded(name: str, mapping: Mapping | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["uploads"] = ((name, (STATUS / name).read_bytes()),)
    at.session_state["source"] = "upload"
    if mapping is not None:
        at.session_state["mapping"] = mapping
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def plain() -> AppTest:
    return _uploaded("plain_log.csv")


@pytest.fixture
def status() -> AppTest:
    return _uploaded("itsm_updates.csv", Mapping(columns={"events": ITSM}))


def test_cost_page_on_a_plain_log_leaves_cost_out_and_still_tags(plain):
    at = plain.switch_page("app_pages/cost.py").run()
    assert not at.exception
    assert any("No cost in this data" in i.value for i in at.info)
    assert not any(m.label.startswith("Service cost") for m in at.metric)
    tags = at.table[0].value
    assert tags.shape == (7, 4)  # a row per behaviour, no money columns
    row = tags[tags["Behaviour"] == "repeat_return"].iloc[0]
    assert row["Cases"] == "1"  # PO-2 creates and approves its order twice


def test_process_page_on_a_plain_log(plain):
    at = plain.switch_page("app_pages/process.py").run()
    assert not at.exception
    assert _metric(at, "Cases") == "3"
    # PO-1 and PO-3 create, approve, send (PO-3's tie at 08:00 in export order); PO-2 loops.
    assert _metric(at, "Variants") == "2"
    assert not at.toggle  # no self-loops: nothing to collapse
    table = next(d.value for d in at.dataframe if "variant" in d.value.columns)
    assert "median_cost" not in table.columns  # the log has no cost


def test_process_page_collapses_a_status_log_and_the_switch_undoes_it(status):
    at = status.switch_page("app_pages/process.py").run()
    assert not at.exception
    # 7 of 29 transitions stay in one state (24 %): collapsed, and the page says so.
    assert any("24.1" in i.value and "one step" in i.value for i in at.info)
    assert _metric(at, "Variants") == "4"  # INC1 and INC5 share New → Active → Resolved → Closed
    at.toggle(key="process_collapse").set_value(False).run()
    assert not at.exception
    assert _metric(at, "Variants") == "5"
    assert not at.info


def test_cost_page_on_a_status_log_shows_reopens_and_ping_pong(status):
    at = status.switch_page("app_pages/cost.py").run()
    assert not at.exception
    assert any("24.1" in i.value for i in at.info)
    tags = at.table[0].value
    shares = dict(zip(tags["Behaviour"], tags["Share of cases"], strict=True))
    # The export's reopen counter: INC2 and INC3; ping-pong: INC3 and INC5 (see test_cost).
    assert shares["reopen"] == "40.0\u00a0%"
    assert shares["ping_pong"] == "40.0\u00a0%"
    assert shares["repeat_return"] == "60.0\u00a0%"  # collapsed: INC1's repeated New is one step
    at.toggle(key="cost_collapse").set_value(False).run()
    assert not at.exception
    tags = at.table[0].value
    shares = dict(zip(tags["Behaviour"], tags["Share of cases"], strict=True))
    assert shares["repeat_return"] == "80.0\u00a0%"


def test_cost_page_labels_an_estimated_cost():
    # A channel but no handle time: every cost comes from the per-contact rate.
    log = (
        "case_id,timestamp,activity,channel\n"
        "A,2024-01-01 10:00,call,phone\nA,2024-01-01 11:00,call,phone\nB,2024-01-02 10:00,call,chat\n"
    )
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["uploads"] = (("log.csv", log.encode()),)
    at.session_state["source"] = "upload"
    at.switch_page("app_pages/cost.py").run()
    assert not at.exception
    assert any("estimate from the rates" in w.value for w in at.warning)
    assert _metric(at, "Service cost, whole period (estimate)") == "₽45"  # 3 contacts x 15
