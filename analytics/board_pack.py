"""The board pack: a story's sections as one self-contained HTML page and as a PDF.

Rendering is offline. Charts become inline SVG through kaleido, and the PDF is the same
HTML printed by the same headless Chromium (DevTools ``Page.printToPDF``): the two files
always show the same numbers and pictures. The browser is the one already on the machine
(``CX_RADAR_CHROMIUM``, else ``BROWSER_PATH``, else ``chromium`` on the path, as Debian's
package installs it); it is never downloaded. One browser is kept alive for the whole
process (a cold start costs seconds) and restarted only after it fails.

Layout: A4 landscape, a cover page (title, the data, a table with each step's key figure,
the steps left out and why), then one page per section: its headline, the chart and, when
given, the notes beside it. Text arrives already worded in the reader's language; ``**x**``
in it is bold. Nothing from the data is trusted as markup: every text is escaped.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import html
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPEN_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 90.0
# A chart's size in CSS pixels, drawn at the size it is shown (fonts stay as plotly sets
# them): the page's width (A4 landscape less margins), or beside the notes.
WIDE_PX = (1000, 470)
BESIDE_NOTES_PX = (620, 430)
TABS = 2  # charts drawn at once (the machine has two cores)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Reasons a pack could not be rendered (the app words them from these keys).
PROBLEMS = {
    "no_browser": "no Chromium found (install Debian's chromium package or set "
    "CX_RADAR_CHROMIUM): the pack has no charts and no PDF",
    "failed": "Chromium failed ({error}): the pack has no charts and no PDF",
}


@dataclass(frozen=True)
class Section:
    """One page of the pack. ``figure`` is a Plotly figure (or None); ``notes`` are
    (label, text) pairs shown beside the chart; ``where`` says where the app shows it."""

    title: str
    text: str
    key_label: str = ""
    key_value: str = ""
    figure: Any = None
    notes: tuple[tuple[str, str], ...] = ()
    where: str = ""


@dataclass(frozen=True)
class Pack:
    """The pack: a cover (``title``, ``subtitle``, the key figures under the column
    names ``columns``, what was ``left_out`` under ``left_out_title``) and its sections."""

    title: str
    subtitle: str
    lang: str
    sections: tuple[Section, ...]
    columns: tuple[str, str, str] = ("Step", "Figure", "Value")
    left_out_title: str = ""
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """The pack as HTML and PDF; ``problem`` (a :data:`PROBLEMS` key and its values) says
    why there are no charts or no PDF."""

    html: str
    pdf: bytes | None
    problem: str | None = None
    values: dict[str, str] = field(default_factory=dict)


class RenderUnavailable(RuntimeError):
    """No browser to render with, or it failed; ``key`` and ``values`` say which."""

    def __init__(self, key: str, **values: str) -> None:
        self.key, self.values = key, values
        super().__init__(PROBLEMS[key].format(**values))


def browser_path() -> str | None:
    """The Chromium to render with (see the module docstring), or None."""
    for variable in ("CX_RADAR_CHROMIUM", "BROWSER_PATH"):
        if os.environ.get(variable):
            return os.environ[variable]
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


class Renderer:
    """kaleido's headless Chromium on an event loop of its own thread: the app's session
    threads hand it coroutines and wait for the result."""

    def __init__(self, path: str) -> None:
        import kaleido

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="board-pack-chromium", daemon=True
        )
        self._thread.start()

        async def open_browser() -> Any:
            # mathjax=False: kaleido would fetch MathJax from a CDN; plotly.js is local.
            browser = kaleido.Kaleido(n=TABS, timeout=RENDER_TIMEOUT_S, mathjax=False, path=path)
            await browser.open()
            return browser

        try:
            self._kaleido = self._run(open_browser(), OPEN_TIMEOUT_S)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    def _run(self, job: Coroutine[Any, Any, Any], timeout_s: float = RENDER_TIMEOUT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(job, self._loop).result(timeout_s)

    def svgs(self, charts: Sequence[tuple[Any, tuple[int, int]]]) -> list[str]:
        """Plotly figures as SVG markup, each ``(figure, (width, height))``, ``TABS`` at
        a time."""

        async def draw() -> list[bytes]:
            return await asyncio.gather(
                *(
                    self._kaleido.calc_fig(fig, opts={"format": "svg", "width": w, "height": h})
                    for fig, (w, h) in charts
                )
            )

        return [data.decode("utf-8") for data in self._run(draw())]

    def pdf(self, page: str, footer: str) -> bytes:
        """``page`` (HTML) printed as PDF with its CSS page size; ``footer`` and the page
        number at the foot of every page."""
        return self._run(self._print(page, footer))

    async def _print(self, page: str, footer: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="cx-radar-pack-") as folder:
            source = Path(folder) / "pack.html"
            source.write_text(page, encoding="utf-8")
            tab = await self._kaleido.create_tab("about:blank", window=True)
            try:
                loaded = tab.subscribe_once("Page.loadEventFired")
                await tab.send_command("Page.enable")
                await tab.send_command("Page.navigate", params={"url": source.as_uri()})
                await loaded
                answer = await tab.send_command(
                    "Page.printToPDF",
                    params={
                        "printBackground": True,
                        "preferCSSPageSize": True,
                        "displayHeaderFooter": True,
                        "headerTemplate": "<span></span>",
                        "footerTemplate": (
                            '<div style="font-size:8px;width:100%;text-align:center;'
                            f'color:#71717a">{html.escape(footer)} · '
                            '<span class="pageNumber"></span> / <span class="totalPages"></span>'
                            "</div>"
                        ),
                    },
                )
            finally:
                await self._kaleido.close_tab(tab)
        if "error" in answer:
            raise RuntimeError(str(answer["error"]))
        return base64.b64decode(answer["result"]["data"])

    def close(self) -> None:
        try:
            self._run(self._kaleido.close(), OPEN_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)


_lock = threading.Lock()
_renderer: Renderer | None = None


def renderer() -> Renderer:
    """The process's one renderer, started on first use (see the module docstring)."""
    global _renderer
    with _lock:
        if _renderer is None:
            path = browser_path()
            if path is None or not Path(path).is_file():
                raise RenderUnavailable("no_browser")
            try:
                _renderer = Renderer(path)
            except Exception as exc:
                raise RenderUnavailable("failed", error=_short(exc)) from exc
            atexit.register(_renderer.close)
        return _renderer


def _drop(broken: Renderer) -> None:
    """Forget a renderer that failed, so the next pack starts a fresh browser."""
    global _renderer
    with _lock:
        if _renderer is broken:
            _renderer = None
            atexit.unregister(broken.close)
    with contextlib.suppress(Exception):  # already gone: nothing left to close
        broken.close()


def _short(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def render(pack: Pack) -> Rendered:
    """The pack as HTML with SVG charts and as PDF; without a working browser, the HTML
    without charts and no PDF, with the reason in ``problem``."""
    try:
        chromium = renderer()
    except RenderUnavailable as why:
        return Rendered(to_html(pack), None, why.key, why.values)
    try:
        svgs = iter(chromium.svgs([(s.figure, _size(s)) for s in pack.sections if s.figure]))
        charts = [next(svgs) if s.figure else None for s in pack.sections]
        page = to_html(pack, charts)
        return Rendered(page, chromium.pdf(page, pack.title))
    except Exception as exc:
        _drop(chromium)
        return Rendered(to_html(pack), None, "failed", {"error": _short(exc)})


def _size(section: Section) -> tuple[int, int]:
    return BESIDE_NOTES_PX if section.notes else WIDE_PX


# ---------------------------------------------------------------- HTML

_CSS = """
@page { size: A4 landscape; margin: 12mm 14mm 14mm 14mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #18181b;
       font-size: 12.5px; line-height: 1.45; margin: 0; }
main { max-width: 1080px; margin: 0 auto; }
section { break-after: page; padding: 4px 0; }
section:last-child { break-after: auto; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 8px; }
h2 .n { color: #2563eb; margin-right: 6px; }
.subtitle { color: #52525b; margin: 0 0 18px; }
.headline { font-size: 14px; margin: 0 0 10px; }
.body { display: flex; gap: 18px; align-items: flex-start; }
.chart { flex: 0 0 auto; }
.chart svg { display: block; }
.notes { flex: 1 1 auto; }
.notes h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
            color: #2563eb; margin: 8px 0 2px; }
.notes p { margin: 0 0 6px; }
.where { color: #71717a; font-size: 11px; margin-top: 8px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 16px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e4e4e7; }
td.value { font-weight: 600; white-space: nowrap; }
.left-out { color: #52525b; }
.left-out li { margin-bottom: 3px; }
"""


def _words(text: str) -> str:
    """Escaped text with ``**bold**`` as <strong> and line breaks kept."""
    escaped = html.escape(text)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped).replace("\n", "<br>")


def _cover(pack: Pack) -> str:
    step, figure, value = (html.escape(c) for c in pack.columns)
    rows = "".join(
        f"<tr><td>{i}. {html.escape(s.title)}</td><td>{html.escape(s.key_label)}</td>"
        f'<td class="value">{html.escape(s.key_value)}</td></tr>'
        for i, s in enumerate(pack.sections, 1)
    )
    left_out = (
        f'<div class="left-out"><h3>{html.escape(pack.left_out_title)}</h3><ul>'
        + "".join(f"<li>{_words(line)}</li>" for line in pack.left_out)
        + "</ul></div>"
        if pack.left_out
        else ""
    )
    return (
        f"<section><h1>{html.escape(pack.title)}</h1>"
        f'<p class="subtitle">{_words(pack.subtitle)}</p>'
        f"<table><thead><tr><th>{step}</th><th>{figure}</th><th>{value}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{left_out}</section>"
    )


def _section(number: int, section: Section, chart: str | None) -> str:
    notes = "".join(
        f"<h3>{html.escape(label)}</h3><p>{_words(text)}</p>" for label, text in section.notes
    )
    where = f'<p class="where">{_words(section.where)}</p>' if section.where else ""
    # The SVG comes from our own renderer (plotly.js), not from the data: kept as markup.
    picture = f'<div class="chart">{chart}</div>' if chart else ""
    return (
        f'<section><h2><span class="n">{number}</span>{html.escape(section.title)}</h2>'
        f'<p class="headline">{_words(section.text)}</p>'
        f'<div class="body">{picture}<div class="notes">{notes}{where}</div></div></section>'
    )


def to_html(pack: Pack, charts: Sequence[str | None] | None = None) -> str:
    """The pack as one self-contained HTML page (see the module docstring); ``charts``
    holds each section's SVG (None: no chart)."""
    pictures = list(charts) if charts is not None else [None] * len(pack.sections)
    body = "".join(
        _section(i, s, c) for i, (s, c) in enumerate(zip(pack.sections, pictures, strict=True), 1)
    )
    return (
        f'<!DOCTYPE html><html lang="{html.escape(pack.lang)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(pack.title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{_cover(pack)}{body}</main></body></html>"
    )
