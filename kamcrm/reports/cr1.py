"""The CR1 report (issue 12): the form's items 3.3 (surveys, Smile Box), 3.4 (VOC) and
3.6/4.3 (prospect lists and their visits), beside CR2, in HTML, PDF, XLSX or JSON.

Each domain gives its rows through one function ``cr1_rows(session, *, year, as_of, scope)``
(the contract is in ARCHITECTURE.md, "The CR1 report"); ``SECTIONS`` lists them in the form's order and
``cr1_report`` calls each. The renderers know nothing of the domains: one table row per
row dict, its item and translated label, the four cumulative cells, the target and met or
missed marked as on CR2's plan 1.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from kamcrm.compliance.engine import default_as_of
from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.org.scope import Scope
from kamcrm.periods import be_year
from kamcrm.prospects.queries import cr1_rows as prospects_cr1_rows
from kamcrm.reports.cr2 import MARK, MIMETYPES, column_headings, scope_name
from kamcrm.reports.export.formats import render_as, report_filename, report_json
from kamcrm.reports.export.html import bangkok_timestamp, render_report_template, thai_long_date
from kamcrm.reports.export.pdf import FONT_FAMILY, font_face_css, render_pdf
from kamcrm.reports.export.xlsx import ReportWorkbook
from kamcrm.surveys.queries import cr1_rows as surveys_cr1_rows
from kamcrm.voc.queries import cr1_rows as voc_cr1_rows

CR1_FORMATS = ("json", "html", "xlsx", "pdf")
__all__ = ["CR1_FORMATS", "MIMETYPES", "SECTIONS", "cr1_report", "render_cr1", "cr1_filename"]
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")

#: The providers of the report's rows, in the form's order.
SECTIONS = (
    surveys_cr1_rows,  # 3.3 surveys and Smile Box
    voc_cr1_rows,  # 3.4 significant customer voices, and those entered in PEA's VOC system
    prospects_cr1_rows,  # 3.6 the prospect lists, 4.3 their business visits
)

#: The labels the surveys rows use, marked for the catalogue (the rows carry the msgids).
LABELS = (
    _l("Phone answers within 15 days: meter installations"),
    _l("Phone answers within 15 days: extensions"),
    _l("Phone answers within 15 days: dedicated transformers"),
    _l("Mean customer satisfaction (SMS and phone)"),
    _l("Low survey scores followed up within 10 days"),
    _l("Smile Box response share"),
    _l("Smile Box low ratings followed up within 10 days"),
)

TITLE = "แบบฟอร์มรายงานผลการดำเนินงานตามแผนปฏิบัติ ประจำปี {year} ของ {name}"
SUBTITLE = "ด้าน CUSTOMER — CR1"
HEADINGS = ("ข้อ", "ตัวชี้วัด", "เป้าหมาย")


def cr1_report(year: int, as_of: date | None, scope: Scope) -> dict:
    """Return the CR1 JSON: every section's rows for ``year`` as of ``as_of`` in ``scope``."""
    as_of = as_of or default_as_of(year)
    rows = []
    for section in SECTIONS:
        rows.extend(section(db.session, year=year, as_of=as_of, scope=scope))
    return {
        "report": "CR1",
        "year": year,
        "as_of": as_of.isoformat(),
        "scope": scope.code,
        "rows": rows,
    }


# --- text of a cell ----------------------------------------------------------------------


def target_text(row: dict) -> str:
    """Return the target as the form prints it (empty without one)."""
    if row["target"] is None:
        return "—"
    if row["unit"] == "mean":
        return f"≥ {row['target']:.4f}"
    if row["unit"] == "pct":
        return f"≥ ร้อยละ {row['target']:g}"
    return f"{row['target']:g}"


def cell_state(cell: dict | None) -> str:
    """Return ``met``, ``missed``, ``neutral`` (no target or no figure) or ``none`` (no column)."""
    if cell is None:
        return "none"
    if cell["target_met"] is None:
        return "neutral"
    return "met" if cell["target_met"] else "missed"


def cell_lines(row: dict, cell: dict | None) -> list[str]:
    """Return the lines a cell prints in Thai (the exports' language)."""
    if cell is None:
        return ["—"]
    value = cell["value"]
    if value is None:
        lines = ["ยังไม่มีข้อมูล"]
    elif row["unit"] == "mean":
        lines = [f"{value:.4f}"]
    elif row["unit"] == "pct":
        lines = [f"ร้อยละ {value:.2f}"]
    else:
        lines = [f"{value:,g}"]
    if cell["denominator"] is not None:
        what = "คำตอบ" if row["unit"] == "mean" else "จาก"
        if row["unit"] == "mean":
            lines.append(f"จาก {cell['denominator']:,} {what}")
        else:
            lines.append(f"{cell['numerator']:,} {what} {cell['denominator']:,}")
    state = cell_state(cell)
    if state in MARK:
        lines.append(f"{MARK[state]} {'ผ่านเป้าหมาย' if state == 'met' else 'ไม่ผ่านเป้าหมาย'}")
    return lines


def translated_label(row: dict) -> str:
    """Return the row's label in the current locale."""
    return gettext(row["label"])


def thai_rows(report: dict) -> list[dict]:
    """Return the report's rows with their Thai label, target and cell lines (the exports')."""
    with force_locale("th"):
        return [
            {
                "row": row,
                "label": translated_label(row),
                "target": target_text(row),
                "cells": [
                    (cell_state(row["cumulative"][c]), cell_lines(row, row["cumulative"][c]))
                    for c in COLUMNS
                ],
            }
            for row in report["rows"]
        ]


def cr1_heading(report: dict, generated_at: datetime, name: str | None = None) -> dict:
    """Return the title lines printed above the table."""
    name = name or scope_name(report["scope"])
    return {
        "title": TITLE.format(year=be_year(report["year"]), name=name),
        "subtitle": SUBTITLE,
        "scope": f"ขอบเขต: {name} ({report['scope']})",
        "as_of": f"ข้อมูล ณ วันที่ {thai_long_date(date.fromisoformat(report['as_of']))}",
        "generated": f"จัดทำเมื่อ {bangkok_timestamp(generated_at)} (เวลากรุงเทพฯ)",
        "legend": "✓ ผ่านเป้าหมาย · ✗ ไม่ผ่านเป้าหมาย · — ยังไม่ถึงไตรมาส (หลังวันที่ข้อมูล)",
    }


# --- renderers -----------------------------------------------------------------------------


def render_cr1_html(
    report: dict,
    *,
    generated_at: datetime | None = None,
    name: str | None = None,
    font_base_url: str | None = None,
    for_pdf: bool = False,
) -> str:
    """Return the report as a standalone Thai HTML page (the template the PDF uses)."""
    generated_at = generated_at or utcnow()
    return render_report_template(
        "reports/cr1.html",
        report=report,
        heading=cr1_heading(report, generated_at, name),
        headings=HEADINGS,
        results_heading="ผลการดำเนินงานสะสม",
        column_headings=column_headings(report["year"]),
        rows=thai_rows(report),
        font_css=font_face_css(font_base_url),
        font_family=FONT_FAMILY,
        for_pdf=for_pdf,
    )


def render_cr1_pdf(
    report: dict, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report as an A4 landscape PDF with the Thai font embedded."""
    return render_pdf(render_cr1_html(report, generated_at=generated_at, name=name, for_pdf=True))


def render_cr1_xlsx(
    report: dict, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report as XLSX: the form on sheet CR1, the figures as numbers on sheet ข้อมูล."""
    generated_at = generated_at or utcnow()
    heading = cr1_heading(report, generated_at, name)
    book = ReportWorkbook()
    formats = book.formats
    sheet = book.sheet("CR1")
    last = len(HEADINGS) + len(COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, heading["title"], formats["title"])
    sheet.merge_range(1, 0, 1, last, heading["subtitle"], formats["subtitle"])
    sheet.merge_range(
        2,
        0,
        2,
        last,
        f"{heading['scope']} · {heading['as_of']} · {heading['generated']}",
        formats["plain"],
    )
    sheet.merge_range(3, 0, 3, last, heading["legend"], formats["note"])
    top = 5
    for column, text in enumerate(HEADINGS):
        sheet.merge_range(top, column, top + 1, column, text, formats["head"])
    sheet.merge_range(top, len(HEADINGS), top, last, "ผลการดำเนินงานสะสม", formats["head"])
    for offset, text in enumerate(column_headings(report["year"])):
        sheet.write_string(top + 1, len(HEADINGS) + offset, text, formats["head"])
    row_number = top + 2
    for entry in thai_rows(report):
        row = entry["row"]
        label = entry["label"] + (f" ({row['office_code']})" if row["office_code"] else "")
        sheet.write_string(row_number, 0, row["item"], formats["cell"])
        sheet.write_string(row_number, 1, label, formats["cell"])
        sheet.write_string(row_number, 2, entry["target"], formats["cell"])
        for offset, (state, lines) in enumerate(entry["cells"]):
            style = formats.get(state, formats["cell"]) if state != "none" else formats["cell"]
            sheet.write_string(row_number, len(HEADINGS) + offset, "\n".join(lines), style)
        sheet.set_row(row_number, 15 * max(3, max(len(lines) for _, lines in entry["cells"]) + 1))
        row_number += 1
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 46)
    sheet.set_column(2, 2, 14)
    sheet.set_column(3, last, 22)
    sheet.freeze_panes(top + 2, 0)
    _write_data_sheet(book, report)
    return book.close()


def _write_data_sheet(book: ReportWorkbook, report: dict) -> None:
    formats = book.formats
    sheet = book.sheet("ข้อมูล")
    header = (
        "item",
        "key",
        "office_code",
        "unit",
        "target",
        "column",
        "value",
        "numerator",
        "denominator",
        "target_met",
    )
    for column, text in enumerate(header):
        sheet.write_string(0, column, text, formats["head"])
    line = 1
    for row in report["rows"]:
        for column_name in COLUMNS:
            cell = row["cumulative"][column_name]
            if cell is None:
                continue
            values = (
                row["item"],
                row["key"],
                row["office_code"],
                row["unit"],
                row["target"],
                column_name,
                cell["value"],
                cell["numerator"],
                cell["denominator"],
                cell["target_met"],
            )
            for column, value in enumerate(values):
                if value is None:
                    sheet.write_blank(line, column, None, formats["cell"])
                elif isinstance(value, bool):
                    sheet.write_boolean(line, column, value, formats["cell"])
                elif isinstance(value, (int, float)):
                    sheet.write_number(line, column, value, formats["cell"])
                else:
                    sheet.write_string(line, column, value, formats["cell"])
            line += 1
    sheet.set_column(0, 9, 14)
    sheet.freeze_panes(1, 0)


def cr1_json(report: dict) -> bytes:
    """Return the report as UTF-8 JSON."""
    return report_json(report)


def cr1_filename(report: dict, fmt: str) -> str:
    """Return a default file name, e.g. ``CR1_R2_2021_as-of_2021-06-30.pdf``."""
    return report_filename("CR1", report, fmt)


def render_cr1(
    report: dict, fmt: str, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report in ``fmt`` (one of CR1_FORMATS) as bytes."""
    return render_as(
        fmt,
        report,
        {
            "html": lambda r, **o: render_cr1_html(r, **o).encode("utf-8"),
            "xlsx": render_cr1_xlsx,
            "pdf": render_cr1_pdf,
        },
        generated_at=generated_at,
        name=name,
    )
