"""Start the app with its modules and the built-in data loaded ahead of the first visit:
``python -m dashboard.serve [streamlit run options]`` (``make run`` does).

``streamlit run`` imports a page's modules on its first run, inside the first visitor's
wait: scikit-learn, statsmodels and SciPy alone took 3-14 s on this 2-core machine. Here a
background thread imports every engine and app module, then reads the built-in dataset
(from the disk cache :mod:`dashboard.warm` filled), while the server starts; a visitor who
arrives earlier simply waits for the same import. The server is Streamlit's own command,
unchanged.
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import logging
import os
import pkgutil
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
# Scripts (the router and its pages), and what is not on the app's path: the command line,
# the warm-up, this launcher, the distributed engine.
_SCRIPTS = ("dashboard.app", "dashboard.app_pages")
_SKIP = ("analytics.cli", "analytics.reduce", "dashboard.warm", "dashboard.serve")
# Imported where used (a page or a dataset load that does not need them never waits), so
# named here: what reading a fitted model, a forecast or a test statistic pulls in.
LIBRARIES = (
    "pandas",
    "scipy.optimize",
    "scipy.signal",
    "scipy.special",
    "scipy.stats",
    "sklearn.calibration",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.frozen",
    "sklearn.impute",
    "sklearn.inspection",
    "sklearn.isotonic",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "statsmodels.stats.proportion",
    "statsmodels.tsa.seasonal",
)
# What every first run needs, read before the rest (the visitor's run would otherwise import
# it itself, or wait for the preload's import of it, sharing the GIL with the other
# imports): besides the router's and the default page's imports (:func:`first_modules`),
# the emoji table the page icon is checked against (0.5 s of regular expressions).
FIRST = ("streamlit.emojis",)
SWITCH_INTERVAL_S = 0.001
# Streamlit's source watcher, on by default, walks every imported module's path (about 2,500
# with the engine's libraries: realpath and isfile on each) on the event loop after any
# session's run that follows a new import: 6-9 s of a soak's event loop each time, the
# health check waiting behind it (benchmarks/RESULTS.md). A server does not rerun on edits
# (runOnSave is off); a developer can still ask for it with ``--server.fileWatcherType``.
FILE_WATCHER_ENV = "STREAMLIT_SERVER_FILE_WATCHER_TYPE"
_log = logging.getLogger("cx_radar")


def modules() -> list[str]:
    """The engine's and the app's modules, in name order (the pages are scripts, not here)."""
    import analytics
    import dashboard

    names = []
    for package in (analytics, dashboard):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            name = info.name
            if name not in _SCRIPTS and not name.startswith((*_SKIP, "dashboard.app_pages.")):
                names.append(name)
    return sorted(names)


def first_modules() -> list[str]:
    """What the router and the default page import (their ``import`` statements, including
    modules named in ``from package import module``), in order: the first visit's needs."""
    from dashboard.nav import DEFAULT, script

    names: list[str] = []
    for path in (APP, APP.parent / script(DEFAULT)):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
                spec = importlib.util.find_spec(node.module)
                if spec is not None and spec.submodule_search_locations is not None:
                    inner = (f"{node.module}.{alias.name}" for alias in node.names)
                    names.extend(n for n in inner if importlib.util.find_spec(n) is not None)
    return list(dict.fromkeys(names))


def _warm_figures() -> None:
    """Build the default page's chart once on two made-up months: plotly imports the
    validator of each property on its first use, inside the first visit's chart otherwise."""
    import polars as pl

    from dashboard.charts import story_figure

    one = [0.5, 0.5]
    story = pl.DataFrame({"month": ["2025-01", "2025-02"], "sla": one, "nps": one})
    story = story.with_columns(churn=pl.lit(0.1), churn_low=pl.lit(0.0), churn_high=pl.lit(0.2))
    story_figure(story, "", "", "", "").to_json()


def skip_direct_run_check() -> None:
    """Mark Streamlit's "use `streamlit run`" warning as given: this process is ``streamlit
    run``. Streamlit makes the check once, at a process's first element, and to tell a REPL
    it walks the whole call stack with :func:`inspect.stack`, which resolves the path of
    every module loaded since its last walk: during the preload's imports that was 0.5 s of
    the first visit's run (44 % of its samples, load 7), whatever was walked ahead."""
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


def preload() -> None:
    """Read the built-in dataset into the app's memory cache, then import what the first
    visit needs (:data:`FIRST`, :func:`first_modules`), then :func:`modules` and the
    :data:`LIBRARIES` they import where used.
    Best effort: a failure is logged and left for the page to meet and report."""
    try:
        from dashboard import state

        state.preload_sample()  # first: the Overview needs it, and its imports are light
        for name in (*FIRST, *first_modules()):
            importlib.import_module(name)
        try:  # a warm-up, tied to the chart's inputs: its failure keeps the rest going
            _warm_figures()
        except Exception:
            _log.exception("building the Overview's chart ahead failed")
        for names in (modules(), LIBRARIES):
            for name in names:
                importlib.import_module(name)
    except Exception:
        _log.exception("preloading the app failed; pages will load what they need")
    # What is alive now (modules, the sample, about 200,000 objects) lives as long as the
    # server: out of the cyclic collector's full passes, which otherwise scan it all each
    # time (0.18 s of CPU holding the GIL; up to 1.1 s wall in a soak).
    gc.collect()
    gc.freeze()


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    from dashboard import stall_probe

    stall_probe.install_from_env()  # the soak's measurements; off unless asked for
    # The server's event loop (page requests, health checks) waits for the GIL behind the
    # sessions' scripts: give it back every millisecond instead of every five.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    os.environ.setdefault(FILE_WATCHER_ENV, "none")
    skip_direct_run_check()
    threading.Thread(target=preload, name="cx-radar-preload", daemon=True).start()
    args = ["run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main(args=args, prog_name="streamlit")


if __name__ == "__main__":
    main()
