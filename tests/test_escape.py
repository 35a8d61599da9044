"""Data-derived text in Markdown: shown as the characters it is, never as an image or link."""

from __future__ import annotations

import pytest

from dashboard.escape import html_block, md

J = "\u2060"  # the invisible word joiner that stops GFM's autolinks


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("![x](http://host/pixel.png)", f"\\!\\[x\\](http{J}://host/pixel.png)"),
        ("[seg](https://host/s) <img src=x>", f"\\[seg\\](https{J}://host/s) \\<img src\\=x\\>"),
        ("www.host.example", f"www{J}.host.example"),
        ("ops@host.example", f"ops{J}@host.example"),
        (":red[alarm] $x$ `code`", ":red\\[alarm\\] \\$x\\$ \\`code\\`"),
        ("**bold** __b__ _i_", "\\*\\*bold\\*\\* \\_\\_b\\_\\_ \\_i\\_"),
        ("# heading\n- item", "\\# heading - item"),  # one line: no block starts mid-value
        ("1. first", "1\\. first"),
        ("- dash", "\\- dash"),
    ],
)
def test_markup_is_escaped(value, escaped):
    assert md(value) == escaped


@pytest.mark.parametrize(
    "value",
    ["bank_calls.csv", "Санкт-Петербург", "Kazan (north)", "12.5", "-5", "a - b", "rule 'x': no"],
)
def test_ordinary_names_stay_as_they_are(value):
    assert md(value) == value


def test_markup_is_one_raw_html_block():
    # CommonMark opens a raw HTML block at a line starting with <div> and ends it at the
    # first blank line: the whole drawing must be that one line, whatever its texts hold.
    block = html_block("<svg>\n<text>a</text>\n\n<text>[x](http://h)</text></svg>")
    assert block.startswith("<div><svg>") and block.endswith("</svg></div>")
    assert "\n" not in block


def test_a_path_is_a_code_span_whatever_its_backticks():
    from dashboard.escape import code

    assert code("/var/lib/cx_radar_state.sqlite") == "`/var/lib/cx_radar_state.sqlite`"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
