"""The PDFs draw the charts the pages draw: the same SVG, inline in the HTML WeasyPrint renders."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from PIL import Image

from kamcrm.compliance.engine import cr2_report
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.reports import charts, cr2, monthly_export
from kamcrm.reports.cr2 import render_cr2_pdf
from kamcrm.reports.monthly import monthly_report
from kamcrm.reports.monthly_export import render_monthly
from tests.pdfs import pdf_pages, pdf_text

GENERATED = datetime(2021, 7, 5, 3, 15, tzinfo=timezone.utc)
NOW = datetime(2021, 2, 20, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def cr2_of_an_office(make):
    """Office CBI: two STRATEGIC accounts, one with an FMS in Q1 (50%, below its 100% target)."""
    make.region()
    office = make.office(code="CBI", name="กฟจ.ชลบุรี", office_class="1")
    done = make.account(office=office, tier="STRATEGIC")
    make.account(office=office, tier="STRATEGIC")
    make.activity(done, "FMS", date(2021, 2, 1))
    return cr2_report(2021, date(2021, 6, 30), office_scope("CBI"))


@pytest.fixture
def monthly_view(make):
    """January 2021: office CBI, three STAR accounts, two with an FMS (66.67% of 100%)."""
    make.region()
    office = make.office(code="CBI", name="กฟฟ.ชลบุรี")
    for n in range(3):
        account = make.account(office=office, tier="STAR")
        if n:
            make.activity(account, "FMS", date(2021, 1, 10 + n))
    return monthly_report("2021-01", region_scope(), NOW)


@pytest.fixture
def html_to_pdf(monkeypatch):
    """Record the HTML each renderer hands to WeasyPrint (and still render it)."""
    from kamcrm.reports.export import pdf

    seen: list[str] = []
    original = pdf.render_pdf

    def recording(html, *args, **kwargs):
        seen.append(html)
        return original(html, *args, **kwargs)

    monkeypatch.setattr(cr2, "render_pdf", recording)
    monkeypatch.setattr(pdf, "render_pdf", recording)
    return seen


def pixels_of(pages: list[Image.Image], colour: str, tolerance: int = 12) -> int:
    """Count the pixels within ``tolerance`` of ``colour`` (``#rrggbb``) on all pages."""
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(
        count
        for page in pages
        for count, rgb in page.getcolors(maxcolors=1 << 20)
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, want))
    )


def result_cells(html: str) -> list[tuple[str, str]]:
    """Return (state, content) of every result cell of the CR2 table."""
    return re.findall(r'<td class="result (\w+)">(.*?)</td>', html, flags=re.S)


# --- CR2 ---------------------------------------------------------------------------------------


def test_every_cr2_cell_with_a_percentage_carries_the_pages_progress_bar(
    cr2_of_an_office, html_to_pdf
):
    render_cr2_pdf(cr2_of_an_office, generated_at=GENERATED)
    [html] = html_to_pdf

    cells = result_cells(html)
    strategic_q1 = cr2_of_an_office["rules"][0]["cumulative"]["Q1"]
    expected_bar = str(
        charts.progress_bar(strategic_q1["pct"], 100, label="ร้อยละ 50.00 เป้าหมาย 100")
    )
    assert expected_bar in html  # the very bar the CR2 page draws for that cell
    assert cells and all(
        ("<svg" in content) == (state in ("met", "missed")) for state, content in cells
    )
    assert sum(state in ("met", "missed") for state, _ in cells) == html.count('<svg class="bar ')


def test_the_cr2_pdf_draws_the_bars_and_the_coverage_chart(cr2_of_an_office, tmp_path):
    content = render_cr2_pdf(cr2_of_an_office, generated_at=GENERATED)

    text = pdf_text(content)
    pages = pdf_pages(content)

    assert "FMS Strategic" in text and "50 / 100%" in text  # the chart's labels, as text
    # The chart follows the form: plan 1 on three pages, then plan 2's rows (SPEC section 8).
    assert len(pages) == text.count("\f") == 5
    assert text.index("แผนงานที่ 2") < text.index("FMS Strategic")
    # 50% is "below" its target: the bar's red is drawn (the cell's own text is darker).
    assert pixels_of(pages, charts.COLOURS["below"]) > 100


def test_a_cr2_without_figures_has_no_chart(make):
    make.region()
    make.office(code="CBI", office_class="1")
    report = cr2_report(2021, date(2021, 6, 30), office_scope("CBI"))
    for rule in report["rules"]:
        rule["cumulative"] = dict.fromkeys(rule["cumulative"])
    assert cr2.coverage_chart(report) is None


# --- the monthly summary -------------------------------------------------------------------------


def test_every_monthly_coverage_figure_carries_the_pages_progress_bar(monthly_view, html_to_pdf):
    render_monthly(monthly_view, "pdf")
    [html] = html_to_pdf

    fms_star = next(
        c for c in monthly_view["total"]["coverage"] if (c["type"], c["tier"]) == ("FMS", "STAR")
    )
    assert (fms_star["met"], fms_star["population"]) == (2, 3)
    assert str(charts.progress_bar(fms_star["pct"], fms_star["target_pct"], label="66.67%")) in html
    cells = sum(len(row["coverage"]) for row in [*monthly_view["offices"], monthly_view["total"]])
    assert html.count('<svg class="bar ') == cells
    assert html.count('<svg class="bars"') == 1


def test_the_workbook_stays_figures_only(monthly_view):
    tables = monthly_export.monthly_tables(monthly_view)
    coverage = [table for table in tables if table.bars]
    assert coverage and all(
        len(bars) == len(table.header) - 1 for table in coverage for bars in table.bars
    )
    assert b"<svg" not in render_monthly(monthly_view, "xlsx")


def test_the_monthly_pdf_draws_the_bars_and_the_coverage_chart(monthly_view, tmp_path):
    content = render_monthly(monthly_view, "pdf")

    text = pdf_text(content)
    pages = pdf_pages(content)

    assert "FMS Star" in text and "66.67 / 100%" in text
    assert len(pages) == text.count("\f")
    assert pixels_of(pages, charts.COLOURS["below"]) > 100
