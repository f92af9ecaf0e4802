"""Charts as plain SVG strings, drawn on the server so pages and PDFs show the same picture.

No JavaScript and no inline ``style`` attributes (the pages' Content-Security-Policy
allows neither): every colour is a presentation attribute. Each chart carries
``role="img"`` and a text alternative; the numbers are always printed beside it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

#: Fill colours by status; each keeps white text at >= 4.5:1 and the bar at >= 3:1 on white.
COLOURS = {
    "met": "#1d6b34",
    "near": "#8a4f00",
    "below": "#b3261e",
    "none": "#5f6672",
}
TRACK = "#e3e6ea"
INK = "#1b1f24"
FONT = "Laksaman, Garuda, Loma, sans-serif"
#: A result at or above this share of its target counts as "near" rather than "below".
NEAR_SHARE = 0.8


def status(pct, target) -> str:
    """Return ``met``, ``near``, ``below`` or ``none`` for a percentage against its target."""
    if pct is None:
        return "none"
    pct = float(pct)
    target = float(target) if target is not None else 100.0
    if pct >= target:
        return "met"
    if target > 0 and pct >= NEAR_SHARE * target:
        return "near"
    return "below"


def quota_status(pct, unit_quarters: int, unit_quarters_met: int) -> str:
    """Return the status of an executive-visit result (``met``, ``near``, ``below``, ``none``).

    The quota binds each unit in each quarter, so the item is met only when every
    unit-quarter is; visits piled into one quarter can bring the total to 100 % while another
    quarter fell short, and that shows as ``near``, not ``met``.
    """
    if not unit_quarters:
        return "none"
    if unit_quarters_met == unit_quarters:
        return "met"
    state = status(pct, 100)
    return "near" if state == "met" else state


def _num(value) -> str:
    """Format a coordinate compactly (no trailing zeros)."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def progress_bar(
    pct, target=100, label: str = "", width: int = 160, height: int = 12, state: str | None = None
) -> Markup:
    """Return a bar filled to ``pct`` (capped at 100) with a tick at ``target``, coloured by
    ``state`` (default: ``pct`` against ``target``)."""
    state = state or status(pct, target)
    filled = 0.0 if pct is None else max(0.0, min(float(pct), 100.0))
    tick = None if target is None else max(0.0, min(float(target), 100.0))
    parts = [
        f'<svg class="bar bar-{state}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 100 {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}">',
        f'<rect x="0" y="0" width="100" height="{height}" rx="2" fill="{TRACK}"/>',
    ]
    if filled:
        parts.append(
            f'<rect x="0" y="0" width="{_num(filled)}" height="{height}" rx="2" fill="{COLOURS[state]}"/>'
        )
    if tick is not None:
        parts.append(
            f'<rect x="{_num(max(tick - 0.6, 0))}" y="0" width="1.2" height="{height}" fill="{INK}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class HeatCell:
    """One cell of a heatmap: its percentage, its target, where it links to, and ``title``,
    the cell's accessible name (what it is and, for a link, what it opens)."""

    pct: float | Decimal | None
    target: float | Decimal | None = 100
    href: str | None = None
    title: str = ""


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[HeatCell]],
    label: str = "",
    row_label_width: int = 170,
    cell_width: int = 74,
    cell_height: int = 30,
    font: str = FONT,
    description: str = "",
) -> Markup:
    """Return a grid of rows x columns, each cell coloured by its result against its target.

    ``font`` is the SVG's font-family (a PDF passes the Thai font it embeds). Without links
    the chart is one image named ``label``. With links it is a group named ``label`` whose
    every cell is a single element with one name, its ``title``: a link, or an image for a
    cell without one; the row and column headings are hidden from screen readers, since each
    cell's name already says them, and no link sits inside an image. ``description`` is the
    chart's text alternative (an SVG ``<desc>``).
    """
    head = 54
    width = row_label_width + cell_width * len(column_labels)
    height = head + cell_height * len(row_labels)
    interactive = any(cell.href for row in cells for cell in row)
    out = [
        f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="{"group" if interactive else "img"}" '
        f'aria-label="{escape(label)}" font-family="{escape(font)}" font-size="12">'
    ]
    if description:
        out.append(f"<desc>{escape(description)}</desc>")
    hidden = ' aria-hidden="true"' if interactive else ""
    for c, text in enumerate(column_labels):
        x = row_label_width + c * cell_width + cell_width / 2
        lines = str(text).split("\n")
        for i, line in enumerate(lines):
            y = head - 8 - 14 * (len(lines) - 1 - i)
            out.append(
                # Regular weight: small bold text reads "Strategic" as "Strateglc".
                f'<text x="{_num(x)}" y="{y}" text-anchor="middle" fill="{INK}" '
                f'font-size="13"{hidden}>{escape(line)}</text>'
            )
    for r, text in enumerate(row_labels):
        y = head + r * cell_height
        out.append(
            f'<text x="4" y="{y + cell_height / 2 + 4:.0f}" fill="{INK}"{hidden}>{escape(text)}</text>'
        )
        for c, cell in enumerate(cells[r]):
            x = row_label_width + c * cell_width
            state = status(cell.pct, cell.target)
            shown = "–" if cell.pct is None else _pct_text(cell.pct)
            mark = "✓ " if state == "met" else ""
            body = (
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_width - 2}" height="{cell_height - 2}" '
                f'rx="3" fill="{COLOURS[state]}"/>'
                f'<text x="{_num(x + cell_width / 2)}" y="{y + cell_height / 2 + 4:.0f}" '
                f'text-anchor="middle" fill="#ffffff">{escape(mark + shown)}</text>'
            )
            if cell.title:
                body = f"<title>{escape(cell.title)}</title>" + body
            name = f' aria-label="{escape(cell.title)}"' if cell.title else ""
            if cell.href:
                body = f'<a href="{escape(cell.href)}"{name}>{body}</a>'
                out.append(f'<g class="cell cell-{state}">{body}</g>')
            elif interactive:
                out.append(f'<g class="cell cell-{state}" role="img"{name}>{body}</g>')
            else:
                out.append(f'<g class="cell cell-{state}">{body}</g>')
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value, and the target the value is measured against."""

    label: str
    value: float | int | Decimal | None
    target: float | int | Decimal | None = None
    #: The status to colour it by, when more than the value against the target decides it.
    state: str | None = None


def bar_chart(
    bars: Sequence[Bar],
    label: str = "",
    unit: str = "",
    width: int = 560,
    label_width: int = 190,
    bar_height: int = 22,
    font: str = FONT,
) -> Markup:
    """Return horizontal bars, scaled to the largest value or target, with target ticks.

    ``font`` is the SVG's font-family (a PDF passes the Thai font it embeds).
    """
    top = 6
    height = top * 2 + bar_height * len(bars)
    scale_max = max(
        [float(b.value or 0) for b in bars] + [float(b.target or 0) for b in bars] + [1.0]
    )
    plot = width - label_width - 110
    out = [
        f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-family="{escape(font)}" font-size="12">'
    ]
    for i, bar in enumerate(bars):
        y = top + i * bar_height
        value = float(bar.value or 0)
        state = bar.state or (status(value, bar.target) if bar.target else "met")
        length = plot * value / scale_max
        out.append(
            f'<text x="4" y="{y + bar_height / 2 + 4:.0f}" fill="{INK}">{escape(bar.label)}</text>'
        )
        out.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{plot}" height="{bar_height - 6}" fill="{TRACK}"/>'
        )
        if length:
            out.append(
                f'<rect x="{label_width}" y="{y + 3}" width="{_num(length)}" height="{bar_height - 6}" '
                f'fill="{COLOURS[state]}"/>'
            )
        if bar.target:
            tx = label_width + plot * float(bar.target) / scale_max
            out.append(
                f'<rect x="{_num(tx - 1)}" y="{y + 1}" width="2" height="{bar_height - 2}" fill="{INK}"/>'
            )
        shown = _pct_text(value).rstrip("%") if bar.value is not None else "–"
        suffix = f" / {_pct_text(bar.target).rstrip('%')}" if bar.target else ""
        out.append(
            f'<text x="{label_width + plot + 6}" y="{y + bar_height / 2 + 4:.0f}" fill="{INK}">'
            f"{escape(shown + suffix + unit)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def _pct_text(value) -> str:
    number = float(value)
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return text + "%"


def consumption_chart(
    months,
    transformer_kva=None,
    label: str = "",
    width: int = 640,
    height: int = 220,
    font: str = FONT,
    kwh_caption: str = "kWh",
    kva_caption: str = "kVA",
) -> Markup:
    """Return monthly kWh as bars with the peak kVA as a line on its own scale, and the
    transformer's capacity as a dashed line on the kVA scale.

    ``months`` are objects with ``month`` (a date), ``kwh`` and ``peak_kva`` (None: not given).
    The figures are also shown as a table beside the chart (its text alternative).
    """
    left, right, top, bottom = 56, 56, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(months), 1)
    step = plot_w / count
    kwh_max = max([float(m.kwh or 0) for m in months] + [1.0])
    kva_values = [float(m.peak_kva) for m in months if m.peak_kva is not None]
    kva_max = max(kva_values + [float(transformer_kva or 0), 1.0]) * 1.1
    out = [
        f'<svg class="consumption" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-family="{escape(font)}" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{TRACK}"/>',
        f'<text x="4" y="{top + 10}" fill="{INK}">{escape(kwh_caption)}</text>',
        f'<text x="{width - 4}" y="{top + 10}" text-anchor="end" fill="{COLOURS["near"]}">{escape(kva_caption)}</text>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" fill="{INK}">{escape(_short(kwh_max))}</text>',
        f'<text x="{width - right + 4}" y="{top + 10}" fill="{COLOURS["near"]}">{escape(_short(kva_max))}</text>',
    ]
    points = []
    for i, month in enumerate(months):
        x = left + i * step
        bar = plot_h * float(month.kwh or 0) / kwh_max
        out.append(
            f'<rect x="{_num(x + step * 0.15)}" y="{_num(top + plot_h - bar)}" width="{_num(step * 0.7)}" '
            f'height="{_num(bar)}" fill="{COLOURS["none"]}"/>'
        )
        if month.peak_kva is not None:
            y = top + plot_h - plot_h * float(month.peak_kva) / kva_max
            points.append(f"{_num(x + step / 2)},{_num(y)}")
        if i % 3 == 0 or i == len(months) - 1:
            out.append(
                f'<text x="{_num(x + step / 2)}" y="{height - bottom + 14}" text-anchor="middle" '
                f'fill="{INK}">{month.month:%m/%y}</text>'
            )
    if points:
        out.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS["near"]}" stroke-width="2"/>'
        )
    if transformer_kva:
        y = top + plot_h - plot_h * float(transformer_kva) / kva_max
        out.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{left + plot_w}" y2="{_num(y)}" stroke="{COLOURS["below"]}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _short(value: float) -> str:
    """Return a compact axis figure: 1.2M, 35k, 950."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}"
