"""Speed as a person meets it, in a real browser: cold start, first visit of every page, one
widget change per page; with an empty disk cache and with the cache a previous server left.

    .venv/bin/python benchmarks/bench_browser.py [--runs 3] [--modes empty warm made]
                                                 [--data DIR] [--json OUT]

Each run starts the app (``python -m dashboard.serve``, as ``make run`` does) on a free port
of 127.0.0.1 with its own disk cache (``CX_RADAR_CACHE``): an *empty* run on a new
directory, then a *warm* run, a new server on the directory the empty run filled (a
restart); *made* is ``make run``'s own start: the cache filled once by
``python -m dashboard.warm`` (timed apart), then every run a new server on it;
``--modes off`` runs without the disk cache, as the app was before it. Headless Chromium
(Debian's, as in the browser tests) opens the Overview, then each other page through the
sidebar as a person would, and on each page changes one widget (the first select box, else
slider, number input, toggle or radio of the page's main area).

Timing never sleeps: a script observes Streamlit's own script state (``stApp``'s
``data-test-script-state``) in the page and records each change with ``performance.now()``.
A step is complete when the script ran and has been idle for ``QUIET_S`` since; its time
runs from the action as the page received it (navigation start, the press of the click or
the key, recorded by the page) to the end of that last run. *Drawn* runs on until the
page's main thread has had no long task for ``QUIET_S``: the charts and tables drawn
after the script ended, which a person waits for too (a step that is not drawn yet slows
the next one). Cold start is also given from the server's launch, imports included.
Prints medians per page over the runs, and their spread (min-max).

Each run ends on a *floor*: a minimal Streamlit app (a title, one select box, a paragraph
echoing the choice), written to a temporary folder and served by ``streamlit run`` with the
app's own settings, its select box changed by the same step. Its time is what Streamlit
itself costs on this machine at that moment, beside every page's widget time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
# This tree's app, not the one the virtual environment's editable install points to: a
# copy of an older commit run with the project's venv served the newest code otherwise.
sys.path.insert(0, str(ROOT))

from dashboard.local_server import app_server, streamlit_server  # noqa: E402
from dashboard.nav import DEFAULT, URLS  # noqa: E402

PAGES = [u for u in URLS if u != DEFAULT]  # after the Overview, the cold start's page
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage"]
QUIET_S = 0.5  # no new run this long after the last one ended: the step is complete
LIMIT_S = 900.0  # one step on a cold, busy machine
ACT_MS = 30_000  # finding and using a widget (not its answer)
START_S = 60.0  # an action the app does not answer with a run at all
# Records every script-state change of this document as [performance.now(), state], and
# the time of every press (pointer or key) the page receives: an action's time starts at
# its press in the page, not before Playwright's own checks of the element (visible,
# stable, scrolled into view: 0.1-0.4 s a click on a busy machine). Also the arrival of
# every message from the server: a run so short that the page never showed it running
# (its states batched into one render) is still seen as answered. And the end of every
# long task (50 ms or more) of the page's main thread: the charts and tables drawn after
# the script ended.
OBSERVE = """
window.__cxStates = [];
window.__cxBusy = [];
try {
  new PerformanceObserver((list) => { for (const e of list.getEntries())
    window.__cxBusy.push(e.startTime + e.duration); }).observe({type: 'longtask', buffered: true});
} catch (e) {}
window.__cxPresses = [];
window.__cxHeard = [];
const Socket = window.WebSocket;
window.WebSocket = class extends Socket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', () => window.__cxHeard.push(performance.now()));
  }
};
for (const kind of ['pointerdown', 'keydown'])
  window.addEventListener(kind, (e) => window.__cxPresses.push(e.timeStamp), true);
const note = (app) => window.__cxStates.push([performance.now(),
    app.getAttribute('data-test-script-state')]);
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.nodeType === 1 && el.getAttribute('data-testid') === 'stApp'
        && r.attributeName === 'data-test-script-state') note(el);
    if (r.type === 'childList') for (const n of r.addedNodes)
      if (n.nodeType === 1) {
        const app = n.matches('[data-testid=stApp]') ? n : n.querySelector('[data-testid=stApp]');
        if (app) note(app);
      }
  }
}).observe(document, {subtree: true, attributes: true, childList: true,
                      attributeFilter: ['data-test-script-state']});
"""


@contextlib.contextmanager
def serve(cache_dir: Path, data: str | None, off: bool = False) -> Iterator[tuple[str, float]]:
    """``streamlit run`` on a free port with ``cache_dir`` as its disk cache (``off``: none,
    memory only, as before the disk cache existed): its URL and the ``perf_counter`` at its
    launch."""
    env = {**os.environ, "CX_RADAR_CACHE": "off" if off else str(cache_dir)}
    env["CX_RADAR_STATE"] = str(cache_dir.parent / f"state_{time.monotonic_ns()}.sqlite")
    if data:
        env["CX_RADAR_DATA"] = data
    launched = time.perf_counter()
    with app_server(env, wait_s=120, logs=False) as (url, _):
        yield url, launched


# The framework floor: what any Streamlit page costs for a select box's change.
FLOOR_APP = """import streamlit as st

st.title("Floor")
choice = st.selectbox("Pick one", ["one", "two", "three"])
st.markdown(f"You picked **{choice}**.")
"""


@contextlib.contextmanager
def serve_floor(folder: Path) -> Iterator[str]:
    """:data:`FLOOR_APP` served from ``folder`` as the app is (``streamlit run``, the app's
    ``.streamlit/config.toml``, no source watcher; without the app's launcher, which only
    preloads the app's own modules): its URL."""
    (folder / ".streamlit").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
    (folder / "floor.py").write_text(FLOOR_APP, encoding="utf-8")
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    command = ["streamlit", "run", "floor.py", "--server.address", "127.0.0.1"]
    with streamlit_server(command, folder, env, wait_s=120, logs=False) as (url, _):
        yield url


def warm_up(cache_dir: Path, data: str | None) -> float:
    """``python -m dashboard.warm`` into ``cache_dir``, as ``make run`` does first; seconds."""
    env = {**os.environ, "CX_RADAR_CACHE": str(cache_dir)}
    if data:
        env["CX_RADAR_DATA"] = data
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dashboard.warm"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


CURRENT = "document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"


def _done_at(page: Page, since_ms: float) -> float:
    """``performance.now()`` at the end of the last script run that started after
    ``since_ms`` (its last state change or message from the server), once the app has
    stayed idle ``QUIET_S`` after it."""
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        states = page.evaluate("window.__cxStates")
        now = page.evaluate("performance.now()")
        after = [(t, s) for t, s in states if t >= since_ms]
        heard = [t for t in page.evaluate("window.__cxHeard") if t >= since_ms]
        if not after and not heard and now - since_ms > START_S * 1000:
            raise TimeoutError(f"{page.url}: no script run within {START_S:.0f} s")
        ran = any(s == "running" for _, s in after) or bool(heard)
        state = after[-1][1] if after else page.evaluate(CURRENT)
        last = max([t for t, _ in after] + heard, default=since_ms)
        if ran and state == "notRunning" and now - last >= QUIET_S * 1000:
            return last
        page.wait_for_timeout(50)
    raise TimeoutError(f"{page.url}: not complete within {LIMIT_S:.0f} s")


def _drawn_at(page: Page, since_ms: float, done_ms: float) -> float:
    """``performance.now()`` when the page had also finished drawing what the step sent:
    the end of its last long task after ``since_ms`` (or ``done_ms`` if later), once the
    main thread has had no long task for ``QUIET_S``."""
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        ends = [t for t in page.evaluate("window.__cxBusy") if t >= since_ms]
        last = max([done_ms, *ends])
        if page.evaluate("performance.now()") - last >= QUIET_S * 1000:
            return last
        page.wait_for_timeout(50)
    raise TimeoutError(f"{page.url}: still drawing after {LIMIT_S:.0f} s")


def _presses(page: Page) -> int:
    return page.evaluate("window.__cxPresses.length")


def _pressed_at(page: Page, before: int) -> float:
    """``performance.now()`` of the first press the page received after the first
    ``before`` ones: when the action reached the page."""
    return page.evaluate(f"window.__cxPresses[{before}]")


def _log(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def _exception(page: Page) -> bool:
    return page.get_by_test_id("stException").count() > 0


def _change_a_widget(page: Page) -> tuple[str, float] | None:
    """Change the first usable widget of the page's main area; (its kind, the
    ``performance.now()`` of the action), or None when the page has none."""
    main = page.get_by_test_id("stMain")
    # Visible ones outside forms: a select box in a closed expander cannot be used, and one
    # in a form runs nothing until the form is submitted.
    boxes = main.get_by_test_id("stSelectbox").filter(visible=True)
    free = [
        boxes.nth(i)
        for i in range(boxes.count())
        if boxes.nth(i).evaluate("e => !e.closest('[data-testid=stForm]')")
    ]
    if free:
        combo = free[0].get_by_role("combobox")
        combo.click(timeout=ACT_MS)
        try:
            page.get_by_role("option").first.wait_for(timeout=3_000)
        except PlaywrightTimeout:  # the click only focused it (seen on long pages): the keyboard
            combo.press("ArrowDown")
            page.get_by_role("option").first.wait_for(timeout=ACT_MS)
        # Another value than the one shown: choosing the same one runs nothing.
        others = page.get_by_role("option").and_(page.locator('[aria-selected="false"]'))
        if others.count():
            before = _presses(page)
            others.first.click(timeout=ACT_MS)
            return "select box", _pressed_at(page, before)
        page.keyboard.press("Escape")
    slider = main.get_by_role("slider").filter(visible=True)
    if slider.count():
        slider.first.focus(timeout=ACT_MS)
        before = _presses(page)
        slider.first.press("ArrowRight", timeout=ACT_MS)
        return "slider", _pressed_at(page, before)
    step_up = main.get_by_test_id("stNumberInputStepUp").filter(visible=True)
    if step_up.count():
        before = _presses(page)
        step_up.first.click(timeout=ACT_MS)
        return "number input", _pressed_at(page, before)
    for kind, test_id in (("toggle", "stCheckbox"), ("radio", "stRadio")):
        found = main.get_by_test_id(test_id).filter(visible=True)
        if found.count():
            target = found.first.locator("label").last
            before = _presses(page)
            target.click(timeout=ACT_MS)
            return kind, _pressed_at(page, before)
    return None


def _widget_step(page: Page, row: dict[str, object]) -> None:
    """Change a widget of the page (:func:`_change_a_widget`) and time its answer into
    ``row``."""
    changed = _change_a_widget(page)
    if changed is not None:
        kind, started = changed
        row["widget"] = kind
        done = _done_at(page, started)
        row["widget_s"] = (done - started) / 1000
        row["widget_drawn_s"] = (_drawn_at(page, started, done) - started) / 1000


def one_run(
    url: str, launched: float, pages: list[str], floor: str | None = None
) -> dict[str, dict[str, object]]:
    """Overview cold, then every page's first visit and one widget change on it; then the
    ``floor`` app's first visit and its select box's change (:data:`FLOOR_APP`)."""
    out: dict[str, dict[str, object]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        context.add_init_script(OBSERVE)
        page = context.new_page()
        page.set_default_timeout(LIMIT_S * 1000)
        asked = time.perf_counter()
        page.goto(f"{url}/")
        done = _done_at(page, 0.0)  # from this document's navigation start
        out["overview"] = {
            "first_s": done / 1000,
            "drawn_s": _drawn_at(page, 0.0, done) / 1000,
            "from_launch_s": asked - launched + done / 1000,
            "exception": _exception(page),
        }
        _log(f"overview {out['overview']['first_s']:.1f} s")
        for name in ["overview", *pages]:
            try:
                if name != "overview":
                    link = page.locator(f'[data-testid="stSidebarNavLink"][href$="/{name}"]')
                    before = _presses(page)
                    link.click(timeout=ACT_MS)
                    started = _pressed_at(page, before)
                    done = _done_at(page, started)
                    out[name] = {
                        "first_s": (done - started) / 1000,
                        "drawn_s": (_drawn_at(page, started, done) - started) / 1000,
                        "exception": _exception(page),
                    }
                    _log(f"{name} {out[name]['first_s']:.1f} s")
                _widget_step(page, out[name])
                if "widget_s" in out[name]:
                    _log(f"{name} {out[name]['widget']} {out[name]['widget_s']:.2f} s")
            except Exception as exc:  # a step that never completes: noted, the rest still run
                out.setdefault(name, {})["error"] = f"{type(exc).__name__}: {exc}"[:200]
                _log(f"{name} failed: {out[name]['error']}")
        if floor is not None:
            try:
                page.goto(floor)
                done = _done_at(page, 0.0)
                out["floor"] = {
                    "first_s": done / 1000,
                    "drawn_s": _drawn_at(page, 0.0, done) / 1000,
                }
                _widget_step(page, out["floor"])
                _log(f"floor select box {out['floor']['widget_s']:.2f} s")
            except Exception as exc:
                out["floor"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                _log(f"floor failed: {out['floor']['error']}")
            # Each page's change beyond the framework's own, at the same minute.
            base = out["floor"].get("widget_s")
            for row in out.values():
                if base is not None and row is not out["floor"] and "widget_s" in row:
                    row["over_floor_s"] = row["widget_s"] - base  # type: ignore[operator]
        browser.close()
    return out


# The timings of a page, as printed.
METRICS = ("first_s", "drawn_s", "widget_s", "widget_drawn_s", "over_floor_s")


def summarise(runs: list[dict[str, dict[str, object]]]) -> dict[str, dict[str, object]]:
    """Per page: the median and range of each timing over the runs."""
    table: dict[str, dict[str, object]] = {}
    for name in runs[0]:
        row: dict[str, object] = {}
        # A run that pressed another widget (one still drawn as a placeholder was passed
        # over) times something else: the widget medians take the most common one's runs.
        kinds = [r[name]["widget"] for r in runs if "widget" in r.get(name, {})]
        kind = max(sorted(set(kinds)), key=kinds.count) if kinds else None
        for metric in (*METRICS, "from_launch_s"):
            widget = metric.startswith("widget") or metric == "over_floor_s"
            timed = [r for r in runs if not widget or _pressed(r, name, kind)]
            values = [r[name][metric] for r in timed if metric in r.get(name, {})]
            if values:
                row[metric] = round(statistics.median(values), 2)  # type: ignore[arg-type]
                row[f"{metric}_range"] = [round(min(values), 2), round(max(values), 2)]  # type: ignore[type-var]
        row["widget"] = kind
        row["other_widget"] = sum(1 for k in kinds if k != kind)
        row["exceptions"] = sum(bool(r[name].get("exception")) for r in runs if name in r)
        row["failures"] = sum("error" in r[name] for r in runs if name in r)
        table[name] = row
    return table


def _pressed(run: dict[str, dict[str, object]], name: str, kind: object) -> bool:
    return run.get(name, {}).get("widget") == kind


def _print(mode: str, table: dict[str, dict[str, object]]) -> None:
    print(
        f"\n{mode}: median s (min-max); drawn: until the page's main thread was idle; "
        "over floor: the change's time less the floor app's change in the same run"
    )
    titles = ("first visit", "drawn", "widget change", "drawn", "over floor")
    print(f"{'page':<12} " + " ".join(f"{h:>24}" for h in titles) + "  widget")
    for name, row in table.items():
        cells = []
        for metric in METRICS:
            if metric in row:
                low, high = row[f"{metric}_range"]  # type: ignore[misc]
                if metric == "over_floor_s":  # signed: a page can beat the floor by noise
                    cells.append(f"{row[metric]:>+7.2f} ({low:+.2f} to {high:+.2f})")
                else:
                    cells.append(f"{row[metric]:>7.2f} ({low:.2f}-{high:.2f})")
            else:
                cells.append("—")
        # A page that showed an error box is fast for the wrong reason: say so beside it.
        shown = row["exceptions"]
        note = f"  ERROR BOX in {shown} run(s)" if shown else ""
        note += f"  failed in {row['failures']} run(s)" if row["failures"] else ""
        note += f"  another widget in {row['other_widget']} run(s)" if row["other_widget"] else ""
        timed = " ".join(f"{c:>24}" for c in cells)
        print(f"{name:<12} {timed}  {row.get('widget') or ''}{note}")
        if name == "overview":
            low, high = row["from_launch_s_range"]  # type: ignore[misc]
            print(f"{'  from launch':<12} {row['from_launch_s']:>7.2f} ({low:.2f}-{high:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", help="data folder (default: the sample company)")
    parser.add_argument("--pages", nargs="*", default=PAGES, help="pages after the Overview")
    parser.add_argument(
        "--modes",
        nargs="*",
        default=["empty", "warm"],
        choices=["off", "empty", "warm", "made"],
        help="off: no disk cache (as before it); warm: a restart on what empty left; "
        "made: a start on the cache dashboard.warm filled (make run)",
    )
    parser.add_argument("--json", help="also write the runs and medians here")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, dict[str, object]]]] = {mode: [] for mode in args.modes}
    with (
        tempfile.TemporaryDirectory(prefix="cx_bench_") as tmp,
        serve_floor(Path(tmp) / "floor") as floor,
    ):
        made = Path(tmp) / "cache_made"
        if "made" in args.modes:
            _log(f"dashboard.warm: {warm_up(made, args.data):.1f} s")
        for i in range(args.runs):
            cache_dir = Path(tmp) / f"cache_{i}"
            for mode in args.modes:  # "warm" restarts on what "empty" left
                where = made if mode == "made" else cache_dir
                with serve(where, args.data, off=mode == "off") as (url, launched):
                    result = one_run(url, launched, args.pages, floor)
                runs[mode].append(result)
                overview = result["overview"]["first_s"]
                _log(f"run {i + 1} {mode} done: overview {overview:.1f} s")
    tables = {mode: summarise(done) for mode, done in runs.items() if done}
    for mode, table in tables.items():
        _print(mode, table)
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    print(
        f"\nruns: {args.runs}; 1-minute load average before/after: {load}; cores: {os.cpu_count()}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": runs, "medians": tables, "load_average": load}, indent=1)
        )


if __name__ == "__main__":
    main()
