"""The launcher (dashboard/serve.py): what it preloads, and what the Overview's first visit
must not have to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dashboard import serve

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_it_preloads_the_engine_and_app_modules_but_no_script():
    names = serve.modules()
    assert {"analytics.escalation", "analytics.risk", "dashboard.state", "dashboard.charts"} <= set(
        names
    )
    assert not [n for n in names if n == "dashboard.app" or n.startswith("dashboard.app_pages")]
    assert not [n for n in names if n.startswith(("analytics.reduce", "analytics.cli"))]


def test_the_first_visits_modules_are_what_the_router_and_the_default_page_import():
    names = serve.first_modules()
    # overview.py: ``from dashboard import filters`` names a module, ``from dashboard.charts
    # import story_figure`` a function of one; app.py: ``import streamlit as st``.
    assert {"dashboard.filters", "dashboard.charts", "analytics.kpi", "streamlit"} <= set(names)
    assert "dashboard.charts.story_figure" not in names
    assert not [n for n in names if n.startswith(("dashboard.app_pages", "sklearn"))]


def test_preloading_imports_every_module_and_reads_the_sample(small_dir):
    code = (
        "import json, sys; from dashboard import serve, state; serve.preload(); "
        "missing = [m for m in (*serve.FIRST, *serve.modules(), *serve.LIBRARIES) if m not in sys.modules]; "
        "scripts = [m for m in sys.modules if m == 'dashboard.app' or "
        "m.startswith('dashboard.app_pages.')]; "
        "sample = state._sample(str(state.sample_dir())); rows = sample.events.height; "
        # The sidebar's filter choices were worked out too: not computed again.
        "from dashboard import filters; filters.options = None; filters.choices(sample); "
        "import gc; print(json.dumps([missing, scripts, rows, gc.get_freeze_count()]))"
    )
    missing, scripts, rows, frozen = json.loads(_python(code, CX_RADAR_DATA=str(small_dir)))
    assert (missing, scripts) == ([], [])
    # What the preload leaves is moved out of the collector's full passes (the libraries
    # alone are over 100,000 objects).
    assert frozen > 100_000
    from analytics.io import load_path

    assert rows == load_path(small_dir).events.height


def test_the_overviews_modules_leave_the_heavy_libraries_unloaded():
    """What the router and the Overview import at the top, the risk model's module and the
    reduced-folder reader every load consults: SciPy's stats, statsmodels and scikit-learn
    come only with the pages (or cached results) that need them."""
    code = (
        "import json, sys; import dashboard.state, dashboard.auth, dashboard.filters, "
        "dashboard.headline, dashboard.charts, dashboard.chart_locale, analytics.kpi, "
        "analytics.overview, analytics.filters, analytics.measures, analytics.risk, "
        "analytics.reduce.layout; "
        "print(json.dumps(sorted({m.split('.')[0] + '.' + m.split('.')[1] if m.startswith('scipy.') "
        "else m.split('.')[0] for m in sys.modules} & {'scipy.stats', 'statsmodels', 'sklearn'})))"
    )
    assert json.loads(_python(code)) == []


def _launch(monkeypatch, argv: list[str]) -> tuple[list[str], str | None]:
    """What :func:`serve.main` hands Streamlit's command line (the preload not run)."""
    from streamlit.web import cli

    seen = []
    monkeypatch.setattr(serve, "preload", lambda: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda s: None)
    monkeypatch.setattr(
        cli,
        "main",
        lambda args, prog_name: seen.append((args, os.environ.get(serve.FILE_WATCHER_ENV))),
    )
    serve.main(argv)
    return seen[0]


def test_the_launcher_turns_the_source_watcher_off_by_default(monkeypatch):
    monkeypatch.delenv(serve.FILE_WATCHER_ENV, raising=False)
    args, watcher = _launch(monkeypatch, ["--server.port", "8123"])
    assert args == ["run", str(serve.APP), "--server.port", "8123"]
    assert watcher == "none"


def test_the_launcher_spares_the_first_element_streamlits_stack_walk(monkeypatch):
    """Streamlit's once-per-process "use `streamlit run`" check walks the whole call stack
    (``env_util.is_repl``); the launcher marks it done, so the first element skips it."""
    from streamlit import delta_generator, env_util

    def walked() -> bool:
        raise AssertionError("the call stack was walked")

    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    monkeypatch.setattr(env_util, "is_repl", walked)
    _launch(monkeypatch, [])
    delta_generator._maybe_print_use_warning()  # what the first element calls


def test_a_watcher_asked_for_is_kept(monkeypatch):
    monkeypatch.setenv(serve.FILE_WATCHER_ENV, "poll")
    assert _launch(monkeypatch, [])[1] == "poll"
