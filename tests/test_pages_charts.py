"""Server-rendered SVG charts: status against target, bars, heatmap, accessible colours."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from kamcrm.reports import charts
from tests.pdfs import pdf_text


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    "pct, target, expected",
    [
        (100, 100, "met"),
        (54.22, 50, "met"),
        (85, 100, "near"),
        (80, 100, "near"),
        (79.99, 100, "below"),
        (0, 40, "below"),
        (None, 100, "none"),
        (0, 0, "met"),
    ],
)
def test_status_compares_the_percentage_with_its_target(pct, target, expected):
    assert charts.status(pct, target) == expected


@pytest.mark.parametrize("state", sorted(charts.COLOURS))
def test_white_text_on_every_status_colour_meets_wcag_aa(state):
    assert contrast(charts.COLOURS[state], "#ffffff") >= 4.5


@pytest.mark.parametrize("pct, width", [(0, None), (54.22, "54.22"), (100, "100"), (130, "100")])
def test_progress_bar_fills_to_the_percentage_capped_at_100(pct, width):
    svg = ElementTree.fromstring(str(charts.progress_bar(pct, 100, label="FMS")))
    fills = [
        r
        for r in svg.iter("{http://www.w3.org/2000/svg}rect")
        if r.get("fill") in charts.COLOURS.values()
    ]
    assert [r.get("width") for r in fills] == ([] if width is None else [width])
    assert svg.get("role") == "img" and svg.get("aria-label") == "FMS"


def test_progress_bar_marks_the_target():
    svg = ElementTree.fromstring(str(charts.progress_bar(20, 40)))
    ticks = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill") == charts.INK]
    assert len(ticks) == 1 and float(ticks[0].get("x")) == pytest.approx(39.4)


def test_heatmap_colours_and_links_each_cell():
    cells = [
        [charts.HeatCell(100, 100, href="/a?x=1&y=2"), charts.HeatCell(50, 100)],
        [charts.HeatCell(None), charts.HeatCell(35, 40, title="RBA")],
    ]
    svg_text = str(charts.heatmap(["CBI", "RYG"], ["FMS", "RBA"], cells, label="offices"))
    svg = ElementTree.fromstring(svg_text)
    groups = [g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    assert groups == ["cell cell-met", "cell cell-below", "cell cell-none", "cell cell-near"]
    links = [a.get("href") for a in svg.iter("{http://www.w3.org/2000/svg}a")]
    assert links == ["/a?x=1&y=2"]


def test_a_linked_heatmap_is_a_group_of_cells_each_with_one_name():
    cells = [
        [
            charts.HeatCell(
                37.5, 100, href="/x", title="CBI, FMS: 37.5% of 100% target — open the accounts"
            ),
            charts.HeatCell(None, title="CBI, RBA: no accounts"),
        ]
    ]
    svg = ElementTree.fromstring(
        str(
            charts.heatmap(
                ["CBI"], ["FMS", "RBA"], cells, label="map", description="one row per office"
            )
        )
    )
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "group" and svg.get("aria-label") == "map"  # no links inside an image
    assert svg.find(f"{ns}desc").text == "one row per office"
    (link,) = svg.iter(f"{ns}a")
    assert link.get("aria-label") == "CBI, FMS: 37.5% of 100% target — open the accounts"
    assert not [e for e in link.iter() if e is not link and (e.get("role") or e.get("tabindex"))]
    unlinked = [g for g in svg.iter(f"{ns}g") if g.get("role") == "img"]
    assert [g.get("aria-label") for g in unlinked] == ["CBI, RBA: no accounts"]
    # The headings are in every cell's name already: screen readers skip them.
    assert all(t.get("aria-hidden") == "true" for t in svg.findall(f"{ns}text"))
    # Without links (as in the PDFs) the heatmap stays one image.
    plain = ElementTree.fromstring(
        str(charts.heatmap(["CBI"], ["FMS"], [[charts.HeatCell(50)]], label="map"))
    )
    assert plain.get("role") == "img" and plain.get("aria-label") == "map"


def test_charts_escape_labels():
    svg_text = str(charts.bar_chart([charts.Bar("<b>A&B</b>", 3, 6)], label='"x"'))
    ElementTree.fromstring(svg_text)  # well-formed despite the markup in the label
    assert "<b>" not in svg_text


def test_bar_chart_scales_to_the_largest_value_or_target():
    svg = ElementTree.fromstring(
        str(charts.bar_chart([charts.Bar("a", 3, 6), charts.Bar("b", 12, 6)]))
    )
    bars = [
        r
        for r in svg.iter("{http://www.w3.org/2000/svg}rect")
        if r.get("fill") in charts.COLOURS.values()
    ]
    widths = [float(r.get("width")) for r in bars]
    assert widths[1] == pytest.approx(4 * widths[0])


def test_charts_use_no_inline_style_or_script():
    svg_text = str(charts.heatmap(["a"], ["b"], [[charts.HeatCell(1)]])) + str(
        charts.progress_bar(1)
    )
    assert not re.search(r"\sstyle=|<script", svg_text)


def _css_colours() -> dict[str, str]:
    from pathlib import Path

    css = (
        Path(__file__).resolve().parent.parent / "kamcrm" / "static" / "css" / "kamcrm.css"
    ).read_text()
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))


@pytest.mark.parametrize(
    "foreground, background",
    [
        ("ink", "paper"),
        ("ink", "canvas"),
        ("muted", "paper"),
        ("muted", "canvas"),
        ("link", "paper"),
        ("below", "paper"),
        ("below", "error-bg"),
        ("ink", "ok-bg"),
        ("ink", "warn-bg"),
        ("paper", "brand"),
        ("paper", "brand-dark"),
        ("paper", "met"),
        ("paper", "near"),
        ("paper", "none"),
    ],
)
def test_page_text_colours_meet_wcag_aa(foreground, background):
    colours = _css_colours()
    assert contrast(colours[foreground], colours[background]) >= 4.5


def test_the_charts_draw_in_a_pdf_as_they_do_on_pages(tmp_path):
    """WeasyPrint (the PDF renderer) draws the same SVG: the heatmap's figures come out as text."""
    from weasyprint import HTML

    cells = [[charts.HeatCell(100, 100), charts.HeatCell(37.5, 100, href="/x")]]
    html = (
        "<html><body>"
        + str(charts.heatmap(["CBI"], ["FMS", "RBA"], cells, label="map"))
        + str(charts.progress_bar(54.22, 100))
        + str(charts.bar_chart([charts.Bar("COM", 4, 6)]))
        + "</body></html>"
    )
    pdf = HTML(string=html).write_pdf()
    assert pdf[:4] == b"%PDF"
    text = pdf_text(pdf)
    assert "37.5%" in text and "CBI" in text
