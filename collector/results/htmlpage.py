"""A self-contained HTML page: inline style, images as data: URIs, no script.

The page must open anywhere (a mail attachment, an air-gapped lab, an issue
tracker), so nothing in it refers to a file or a network address. Every
value goes through ``html.escape``: descriptions and parameters are user
text.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.real td { background: #fff3cd; } .note { color: #555; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 12px; }
img { max-width: 100%; height: auto; }
code { font-size: 12px; } div.wide { overflow-x: auto; }
"""


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def number(value: Any) -> str:
    """A figure as shown: four significant digits, '-' when there is none."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value)}"
    return f"{value:.4g}"


def cell(value: Any, *, metric: str | None = None) -> str:
    """A table cell; numbers right-aligned and carrying their exact value.

    ``data-value`` keeps the full number so that a script (or a test) reading
    the page gets what the database holds, not the rounded text.
    """
    if hasattr(value, "item"):  # a numpy scalar from a DataFrame
        value = value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return '<td class="num">-</td>'
        attributes = f' data-value="{value!r}"'
        if metric:
            attributes += f' data-metric="{escape(metric)}"'
        return f'<td class="num"{attributes}>{number(value)}</td>'
    return f"<td>{escape(value)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, row_class: Sequence[str] = ()
          ) -> str:  # fmt: skip
    """Rows are lists of ready ``<td>`` cells (see ``cell``)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = []
    classes = list(row_class)
    for index, cells in enumerate(rows):
        css = f' class="{classes[index]}"' if index < len(classes) and classes[index] else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    # a wide table scrolls on its own instead of widening the page
    return f'<div class="wide"><table>{head}<tbody>{"".join(body)}</tbody></table></div>'


def image(png: bytes, title: str, file_name: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(title)}">'
        f"<figcaption>{escape(title)} ({escape(file_name)})</figcaption></figure>"
    )


def page(title: str, sections: Iterable[str], *, generator: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{''.join(sections)}"
        f'<p class="note">Written by {escape(generator)}.</p></body></html>\n'
    )


def section(heading: str, *parts: str) -> str:
    return f"<h2>{escape(heading)}</h2>{''.join(parts)}"


def paragraph(text: str, *, note: bool = False) -> str:
    css = ' class="note"' if note else ""
    return f"<p{css}>{escape(text)}</p>"
