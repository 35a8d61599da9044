"""Text taken from the data, made safe for anything Streamlit renders as Markdown.

``st.markdown``, captions, alerts, metric labels and expander titles render Markdown plus
Streamlit's own syntax (``:red[...]``, ``$LaTeX$``). A region named
``![x](http://host/pixel.png)`` would become an image every viewer's browser fetches, so
every data-derived value that reaches them goes through :func:`md` first. A drawing the
app builds itself (an SVG, its texts escaped by :func:`svg_text`) is drawn by
:func:`draw_svg`, the one place raw markup is handed to Streamlit.
"""

from __future__ import annotations

import re
from html import escape

import streamlit as st

# A backslash makes any ASCII punctuation literal in CommonMark. These start an image, a
# link, an autolink (``<…>``), emphasis, code, HTML, an entity, a table cell, a
# heading or quote, a colour directive (``:red[…]``) or a formula (``$``).
_ALWAYS = re.compile(r"([\\`*\[\]<>!~$&|{}#+=^])")
# GFM turns bare ``http://…``, ``www.…`` and ``a@b.c`` into links after parsing, on the
# text with escapes already undone, so a backslash cannot stop it: an invisible word
# joiner (U+2060) before the colon, the dot or the at sign does.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=www)(?=\.)|(?=@)")
_JOINER = "\u2060"
# An underscore between two letters or digits never starts emphasis: ``bank_calls.csv``
# stays as it is. Elsewhere it is escaped.
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# A leading ``-``, ``1.`` or ``1)`` before a space starts a list (``---``: a rule).
_LEADING = re.compile(r"^(\s*)(-|\d{1,9}[.)])(?=\s|$|-)")


def md(value: object) -> str:
    """``value`` as literal text inside Markdown (line breaks become spaces)."""
    text = " ".join(str(value).splitlines())
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _AUTOLINK.sub(_JOINER, text)
    return _LEADING.sub(lambda m: f"{m[1]}{m[2][:-1]}\\{m[2][-1]}", text)


def code(value: object) -> str:
    """``value`` (a path, a file name) as a Markdown code span, literal as it is: the fence
    longer than any run of backticks inside it."""
    text = " ".join(str(value).splitlines())
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_block(markup: str) -> str:
    """``markup`` (HTML or SVG whose texts are escaped) for ``st.markdown(...,
    unsafe_allow_html=True)`` as one raw HTML block: a line that starts with ``<div>`` opens
    a CommonMark HTML block, which runs to the next blank line and is passed on as it is.
    Markup starting with another tag (``<svg>``) on a line with more after it is read as
    a paragraph instead: the texts between its tags would be Markdown, and a name like
    ``[x](http://host)`` or a bare ``http://host`` a link. Line breaks inside become spaces,
    so no blank line can end the block early."""
    return "<div>" + " ".join(markup.splitlines()) + "</div>"


def svg_text(text: str) -> str:
    """``text`` as SVG character data on one line: markup escaped, line breaks as
    character references."""
    return escape(text).replace("\r", "").replace("\n", "&#10;")


def draw_svg(markup: str, title: str = "") -> None:
    """An SVG whose texts went through :func:`svg_text`, drawn in the page, under ``title``
    (Markdown from the catalogue, ``### …`` for a subheader) in the same element: a page
    whose every element is sent and laid out again on an input's change need not send a
    title and its drawing as two. Through ``st.markdown`` as one raw HTML block
    (:func:`html_block`): ``st.html``'s sanitiser keeps HTML only and drops SVG."""
    block = html_block(markup)
    st.markdown(f"{title}\n\n{block}" if title else block, unsafe_allow_html=True)
