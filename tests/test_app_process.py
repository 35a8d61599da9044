"""AppTest of the Cost and Process pages on logs that are not contact-centre exports: a
plain process log (case, activity, time, resource) and a ticket system's status updates."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import load_path
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
    tags = next(d.value for d in at.dataframe if "share" in d.value.columns)
    assert tags.shape == (7, 3)  # a row per behaviour, no money columns
    row = tags[tags["tag"] == "repeat returns"].iloc[0]
    assert row["cases"] == 1  # PO-2 creates and approves its order twice


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
    tags = next(d.value for d in at.dataframe if "share" in d.value.columns)
    shares = dict(zip(tags["tag"], tags["share"], strict=True))
    # The export's reopen counter: INC2 and INC3; ping-pong: INC3 and INC5 (see test_cost).
    assert shares["reopens"] == 2 / 5
    assert shares["ping-pong between teams"] == 2 / 5
    assert shares["repeat returns"] == 3 / 5  # collapsed: INC1's repeated New is one step
    at.toggle(key="cost_collapse").set_value(False).run()
    assert not at.exception
    tags = next(d.value for d in at.dataframe if "share" in d.value.columns)
    shares = dict(zip(tags["tag"], tags["share"], strict=True))
    assert shares["repeat returns"] == 4 / 5


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


SAMPLE = Path(__file__).parent.parent / "sample_data"
SHAPES = Path(__file__).parent / "data" / "shapes"
NS = "{http://www.w3.org/2000/svg}"


def _opened(folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.switch_page("app_pages/process.py").run()


def _map(at: AppTest) -> ET.Element:
    maps = [m.value for m in at.markdown if m.value.startswith("<div><svg")]
    assert len(maps) == 1
    assert "\n" not in maps[0]  # one line in a <div>: Markdown reads it as one HTML block
    return ET.fromstring(maps[0]).find(f"{NS}svg")


def test_process_page_opens_on_the_largest_drift_with_a_readable_map(monkeypatch):
    from analytics.process import coverage, variants
    from analytics.process_layout import process_views

    views = process_views(load_path(SAMPLE))
    at = _opened(SAMPLE, monkeypatch)
    assert not at.exception
    # The planted story: billing's bot loop became the norm, so the page opens on billing.
    assert views.default_scenario == "billing"
    assert at.selectbox(key="scenario").value == "billing"
    assert any("bot → bot" in c.value and "largest" in c.value for c in at.caption)
    table = variants(views.cases_of("billing"), views.paths)
    k = coverage(table)
    assert at.slider(key="paths_billing").value == k
    assert any(f"{k} of {table.height} paths" in c.value for c in at.caption)
    assert int(_map(at).get("width")) <= 1200  # fits a wide screen at its own pixel size
    # All scenarios stay on offer; there the slider starts at all cases' 80 % paths.
    at.selectbox(key="scenario").set_value("").run()
    assert not at.exception
    every = variants(views.cases, views.paths)
    assert at.slider(key="paths_").value == coverage(every)
    at.slider(key="paths_").set_value(coverage(every) + 5).run()
    assert not at.exception
    boxes = list(_map(at).iter(f"{NS}rect"))
    assert len(boxes) > 0


def test_process_tables_are_tabs_each_drawn_only_while_open(monkeypatch):
    from analytics.cost import manual_steps
    from analytics.process import case_drift, variants
    from analytics.process_layout import process_views

    dataset = load_path(SAMPLE)
    views = process_views(dataset)
    at = _opened(SAMPLE, monkeypatch)
    # A scenario switch sends one table to the browser, not four: the variants tab first.
    table = variants(views.cases_of("billing"), views.paths)
    (shown,) = at.dataframe
    assert shown.value["variant"].tolist() == table["variant"].head(50).to_list()
    assert len(at.get("download_button")) == 3  # the variants as CSV and Excel, the log
    # The drift of billing's planted bot loop, against its most frequent path.
    at.session_state["process_tab"] = "Drift: became the norm"
    at.run()
    assert not at.exception
    (shown,) = at.dataframe
    drift = case_drift(views.months_of("billing"), views.paths, table["path"][0])
    assert drift.height > 0
    assert shown.value["deviation"].tolist() == drift["deviation"].head(20).to_list()
    assert len(at.get("download_button")) == 1  # the log stays, whatever the tab
    at.session_state["process_tab"] = "Rework"
    at.run()
    (shown,) = at.dataframe
    assert (
        shown.value["activity"].tolist() == views.scenarios["billing"].rework["activity"].to_list()
    )
    at.session_state["process_tab"] = "Manual exceptions"
    at.run()
    (shown,) = at.dataframe
    manual = manual_steps(dataset).filter(scenario="billing")
    assert manual.height > 0 and views.scenarios["billing"].rework.height > 0
    assert shown.value["activity"].tolist() == manual["activity"].to_list()


def test_process_page_in_russian(monkeypatch):
    monkeypatch.setenv("CX_RADAR_DATA", str(SHAPES / "plain_log"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "RU"
    at.switch_page("app_pages/process.py").run()
    assert not at.exception
    assert any(s.startswith("Карта процесса") for s in (h.value for h in at.subheader))


@pytest.mark.parametrize("shape", ["plain_log", "status_log", "calls"])
def test_process_map_on_real_data_shapes(shape, monkeypatch):
    from analytics.process import coverage, variants
    from analytics.process_layout import path_map, process_views

    views = process_views(load_path(SHAPES / shape))
    at = _opened(SHAPES / shape, monkeypatch)
    assert not at.exception
    scenario = views.default_scenario
    table = variants(views.cases_of(scenario), views.paths)
    if table.height > 1:
        assert at.slider(key=f"paths_{scenario}").value == coverage(table)
    else:
        assert not at.slider  # one path: nothing to choose
    edges, layout = path_map(views.scenarios[scenario], table, coverage(table))
    if edges.height:  # the map shows exactly the laid-out labels
        written = [
            "\n".join(s.text for s in text.iter(f"{NS}tspan"))
            for text in _map(at).iter(f"{NS}text")
            if text.find(f"{NS}tspan") is not None
        ]
        assert sorted(written) == sorted(layout.labels.values())
