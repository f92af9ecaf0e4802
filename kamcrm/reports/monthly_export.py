"""The monthly summary as JSON, HTML, XLSX and PDF: a Thai document with BE years.

Every format is drawn from the same view (``monthly.monthly_report``) and the same table
layout (``monthly_tables``), so the spreadsheet, the page and the PDF say the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import click
from flask import render_template
from flask.cli import with_appcontext
from markupsafe import Markup

from kamcrm.accounts.models import TIERS
from kamcrm.activities.models import ACTIVITY_TYPES
from kamcrm.org.models import EXEC_ROLES
from kamcrm.periods import BANGKOK, THAI_MONTHS, be_year, thai_date
from kamcrm.reports import charts
from kamcrm.transactions import in_one_transaction

MONTHLY_FORMATS = ("json", "html", "xlsx", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

TIER_NAMES = {
    "STRATEGIC": "Strategic",
    "STAR": "Star",
    "STATUS": "Status",
    "STREAMLINE": "Streamline",
}
TYPE_NAMES = {
    "FMS": "บริการเสริมโดยไม่คิดค่าใช้จ่าย (FMS)",
    "RBA": "กิจกรรมสร้างความสัมพันธ์ (RBA)",
    "COM": "การติดต่อสื่อสาร (COM)",
    "EXV": "การเยี่ยมเยียนโดยผู้บริหาร",
    "SEM": "สัมมนา/กิจกรรมลูกค้า",
    "PLN": "การมีส่วนร่วมวางแผน",
    "BOI": "สนับสนุนลูกค้ารายใหม่ (BOI)",
    "BIZ": "เยี่ยมเยียนเชิงธุรกิจ (BIZ)",
}
EXEC_ROLE_NAMES = {
    "region_director": "ผู้อำนวยการการไฟฟ้าเขต",
    "assistant_director": "ผู้ช่วยผู้อำนวยการ",
    "office_manager": "ผู้จัดการ กฟฟ.",
}
KIND_NAMES = {
    "reported": "ตามที่รายงาน (จัดทำหลังครบกำหนดบันทึกข้อมูล)",
    "on_demand": "ข้อมูล ณ ปัจจุบัน",
}
STATUS_NAMES = {"done": "ดำเนินการแล้ว", "planned": "ตามแผน", "cancelled": "ยกเลิก"}
WINDOW_NAMES = {"year_to_date": "สะสมตั้งแต่ต้นปี", "period_to_date": "รอบปัจจุบันถึงสิ้นเดือน"}
CHANGE_NAMES = {
    "added": "เพิ่มเข้ามา",
    "changed": "แก้ไข",
    "moved": "ย้ายสำนักงาน",
    "removed": "ไม่นับแล้ว (ยกเลิก/เปลี่ยนวันที่)",
    "deleted": "ลบแล้ว",
}


def thai_month(month_key: str) -> str:
    """Return ``YYYY-MM`` as ``มกราคม 2564``."""
    year, month = (int(part) for part in month_key.split("-"))
    return f"{THAI_MONTHS[month - 1]} {be_year(year)}"


def thai_day(text: str | None) -> str:
    """Return an ISO date as ``6 ก.พ. 2564`` (blank for None)."""
    return thai_date(date.fromisoformat(text), short=True) if text else ""


def thai_moment(text: str | None) -> str:
    """Return an ISO timestamp as a Bangkok date and time, ``6 ก.พ. 2564 00:30 น.``."""
    if not text:
        return ""
    local = datetime.fromisoformat(text).astimezone(BANGKOK)
    return f"{thai_date(local.date(), short=True)} {local:%H:%M} น."


def percent(value) -> str:
    """Return a percentage as printed on the form, ``54.22%``; a dash when there is none."""
    return "–" if value is None else f"{value:,.2f}%"


_FIGURE_PARTS = {
    "activities": "ครั้ง",
    "accounts": "ราย",
    "population": "จำนวนลูกค้า",
    "met": "ดำเนินการแล้ว",
    "pct": "ร้อยละ",
    "visits": "ครั้ง",
    "quarter_accounts": "รายสะสมในไตรมาส",
    "quarter_target": "เป้าหมายไตรมาส",
}


def figure_name(name: str) -> str:
    """Return a figure's dotted name (``coverage.FMS.STAR.met``) the way the report reads it."""
    group, *rest = name.split(".")
    if group == "accounts":
        return f"จำนวนลูกค้า {TIER_NAMES.get(rest[0], rest[0])}"
    if group == "activities":
        return f"กิจกรรม {rest[0]} ({_FIGURE_PARTS[rest[1]]})"
    if group == "coverage":
        return f"ความครอบคลุม {rest[0]} {TIER_NAMES.get(rest[1], rest[1])}: {_FIGURE_PARTS[rest[2]]}"
    if group == "executive_visits":
        return f"{EXEC_ROLE_NAMES.get(rest[0], rest[0])} ({_FIGURE_PARTS[rest[1]]})"
    if group == "late":
        return "บันทึกล่าช้าในเดือน" if rest[0] == "month" else "บันทึกล่าช้าสะสม"
    return name


def coverage_text(cell: dict) -> str:
    """Return a coverage cell as ``met/population (pct)``."""
    return f"{cell['met']:,}/{cell['population']:,} ({percent(cell['pct'])})"


def coverage_bar(cell: dict) -> Markup:
    """Return the progress bar of a coverage cell, as the monthly page draws it."""
    return charts.progress_bar(cell["pct"], cell["target_pct"], label=percent(cell["pct"]))


def coverage_chart(total: dict) -> dict | None:
    """Return the caption and bar chart of the total's coverage by rule against its target."""
    if not total["coverage"]:
        return None
    from kamcrm.reports.export.pdf import FONT_FAMILY

    caption = "ร้อยละของลูกค้าที่ดำเนินการครบตามเกณฑ์ รวมทุกสำนักงาน (เส้นดำ = เป้าหมาย)"
    bars = [
        charts.Bar(
            f"{cell['type']} {TIER_NAMES.get(cell['tier'], cell['tier'])}",
            cell["pct"],
            cell["target_pct"],
        )
        for cell in total["coverage"]
    ]
    return {
        "caption": caption,
        "svg": charts.bar_chart(bars, label=caption, unit="%", font=FONT_FAMILY),
    }


# --- one layout for every format --------------------------------------------------------------


@dataclass
class Table:
    """A titled table: header row, body rows, and the total row (if any)."""

    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    total: list | None = None
    note: str = ""
    #: True for a table of figures (every column after the first is a number to align right).
    figures: bool = True
    #: The progress bar the monthly page draws under each figure (HTML and PDF only): one
    #: list per body row and one for the total, each as long as the row less its first column.
    bars: list[list] = field(default_factory=list)
    total_bars: list | None = None
    #: A chart printed under the table (HTML and PDF only): ``{"caption", "svg"}``.
    chart: dict | None = None


def _coverage_columns(view: dict) -> list[tuple[str, str, str]]:
    return [(cell["type"], cell["tier"], cell["window"]) for cell in view["total"]["coverage"]]


def monthly_tables(view: dict) -> list[Table]:
    """Return the summary's tables, in the order every format shows them."""
    parts = view["offices"]
    total = view["total"]

    def office(row):
        return f"{row['name']} ({row['code']})" if row["code"] else row["name"]

    tables = []
    accounts = Table("1. จำนวนลูกค้ารายสำคัญตามกลุ่ม ณ สิ้นเดือน", ["สำนักงาน", *TIER_NAMES.values(), "รวม"])
    for row in parts:
        accounts.rows.append(
            [office(row), *(row["accounts"][t] for t in TIERS), sum(row["accounts"].values())]
        )
    accounts.total = [
        "รวม",
        *(total["accounts"][t] for t in TIERS),
        sum(total["accounts"].values()),
    ]
    tables.append(accounts)

    activities = Table(
        "2. กิจกรรมที่ดำเนินการแล้วในเดือน (ครั้ง / ราย)",
        ["สำนักงาน", *ACTIVITY_TYPES],
        note="; ".join(f"{code} = {TYPE_NAMES[code]}" for code in ACTIVITY_TYPES),
    )

    def activity_cells(row):
        return [
            f"{row['activities'][t]['activities']:,} / {row['activities'][t]['accounts']:,}"
            for t in ACTIVITY_TYPES
        ]

    for row in parts:
        activities.rows.append([office(row), *activity_cells(row)])
    activities.total = ["รวม", *activity_cells(total)]
    tables.append(activities)

    # One table per activity type keeps each cell on one line (a table of eleven
    # coverage columns wrapped every cell and tripled the document's length).
    columns = _coverage_columns(view)
    for number, type_ in enumerate(dict.fromkeys(t for t, _, _ in columns), start=1):
        keys = [key for key in columns if key[0] == type_]
        windows = {WINDOW_NAMES[w] for _, _, w in keys}
        coverage = Table(
            f"3.{number} ความครอบคลุม {type_} {' / '.join(sorted(windows))} "
            "(ดำเนินการแล้ว/จำนวนลูกค้า (ร้อยละ))",
            ["สำนักงาน", *(TIER_NAMES[tier] for _, tier, _ in keys)],
        )

        def coverage_cells(row, keys=keys):
            cells = {(c["type"], c["tier"], c["window"]): c for c in row["coverage"]}
            return [coverage_text(cells[key]) if key in cells else "–" for key in keys]

        def coverage_bars(row, keys=keys):
            cells = {(c["type"], c["tier"], c["window"]): c for c in row["coverage"]}
            return [coverage_bar(cells[key]) if key in cells else None for key in keys]

        for row in parts:
            coverage.rows.append([office(row), *coverage_cells(row)])
            coverage.bars.append(coverage_bars(row))
        coverage.total = ["รวม", *coverage_cells(total)]
        coverage.total_bars = coverage_bars(total)
        tables.append(coverage)
    if columns:
        tables[-1].note = (
            "FMS และ RBA นับสะสมตั้งแต่ 1 มกราคม; COM นับในไตรมาสปัจจุบัน "
            "(กลุ่ม Streamline นับครึ่งปีปัจจุบัน) ถึงสิ้นเดือน"
        )
        tables[-1].chart = coverage_chart(total)

    visits = Table(
        "4. การเยี่ยมเยียนลูกค้าโดยผู้บริหาร (ครั้ง / ราย ในเดือน; รายสะสมในไตรมาส / เป้าหมาย)",
        ["สำนักงาน", *(EXEC_ROLE_NAMES[r] for r in EXEC_ROLES), "ผจก. กฟฟ. ไตรมาสนี้"],
    )

    def visit_cells(row):
        figures = row["executive_visits"]
        cells = [f"{figures[r]['visits']:,} / {figures[r]['accounts']:,}" for r in EXEC_ROLES]
        manager = figures["office_manager"]
        cells.append(f"{manager['quarter_accounts']:,} / {manager['quarter_target']:,}")
        return cells

    for row in parts:
        visits.rows.append([office(row), *visit_cells(row)])
    visits.total = ["รวม", *visit_cells(total)]
    regional = [
        f"{EXEC_ROLE_NAMES[r]} ไตรมาสนี้ {total['executive_visits'][r]['quarter_accounts']:,} ราย "
        f"จากเป้าหมาย {total['executive_visits'][r]['quarter_target']:,} ราย"
        for r in ("region_director", "assistant_director")
        if total["executive_visits"][r]["quarter_target"]
    ]
    visits.note = "; ".join(regional)
    tables.append(visits)

    late = Table(
        "5. การบันทึกล่าช้า (หลังวันที่ 5 ของเดือนถัดไป)",
        ["สำนักงาน", "ล่าช้าในเดือนนี้", "ล่าช้าสะสมตั้งแต่ต้นปี"],
    )
    for row in parts:
        late.rows.append([office(row), row["late"]["month"], row["late"]["year_to_date"]])
    late.total = ["รวม", total["late"]["month"], total["late"]["year_to_date"]]
    tables.append(late)

    # The document lists the month's own late entries; the year's are counted above and
    # per person below, and listed in full in the JSON.
    entries = Table(
        "5.1 รายการที่บันทึกล่าช้าของเดือนนี้",
        [
            "วันที่กิจกรรม",
            "ครบกำหนดบันทึก",
            "บันทึกเมื่อ",
            "สำนักงาน",
            "เลขที่สัญญา",
            "ลูกค้า",
            "กิจกรรม",
            "ผู้ดำเนินการ",
            "ผู้บันทึก",
        ],
        figures=False,
    )
    for entry in (entry for entry in view["late_entries"] if entry["in_month"]):
        entries.rows.append(
            [
                thai_day(entry["activity_date"]),
                thai_day(entry["deadline"]),
                thai_moment(entry["recorded_at"]),
                entry["office"],
                entry["account_no"],
                entry["account_name"],
                entry["type"],
                f"{entry['performed_by_name']} ({entry['performed_by']})",
                entry["recorded_by"] or "",
            ]
        )
    tables.append(entries)

    people = Table(
        "5.2 ผู้ดำเนินการที่มีรายการบันทึกล่าช้า",
        ["ผู้ดำเนินการ", "สำนักงาน", "ในเดือนนี้", "สะสม", "จำนวนลูกค้า"],
        figures=False,
    )
    for person in view["late_by_user"]:
        people.rows.append(
            [
                f"{person['full_name']} ({person['username']})",
                ", ".join(person["offices"]),
                person["in_month"],
                person["entries"],
                len(person["accounts"]),
            ]
        )
    tables.append(people)

    changes = view.get("changes")
    if changes is not None:
        moved = Table(
            "6. ตัวเลขที่เปลี่ยนไปจากที่รายงาน",
            ["สำนักงาน", "รายการ", "ตามที่รายงาน", "ณ ปัจจุบัน"],
            note=f"รายงานเมื่อ {thai_moment(view['reported_at'])}",
            figures=False,
        )
        for figure in changes["figures"]:
            moved.rows.append(
                [
                    figure["office"],
                    figure_name(figure["figure"]),
                    _blank(figure["reported"]),
                    _blank(figure["now"]),
                ]
            )
        tables.append(moved)
        activities_changed = Table(
            "6.1 กิจกรรมที่เพิ่ม แก้ไข หรือหายไปหลังรายงาน",
            [
                "การเปลี่ยนแปลง",
                "วันที่กิจกรรม",
                "เลขที่สัญญา",
                "ลูกค้า",
                "กิจกรรม",
                "สถานะ",
                "บันทึกเมื่อ",
                "ล่าช้า",
                "ผู้ดำเนินการ",
            ],
            figures=False,
        )
        for item in changes["activities"]:
            activities_changed.rows.append(
                [
                    CHANGE_NAMES[item["change"]],
                    thai_day(item.get("activity_date")),
                    item.get("account_no", ""),
                    item.get("account_name", f"(รายการ {item['id']})"),
                    item.get("type", ""),
                    STATUS_NAMES.get(item.get("status"), ""),
                    thai_moment(item.get("recorded_at")),
                    "ใช่" if item.get("is_late") else "",
                    item.get("performed_by", ""),
                ]
            )
        tables.append(activities_changed)
    return tables


def _blank(value):
    return "–" if value is None else value


def heading(view: dict) -> dict:
    """Return the title lines every format prints above the tables."""
    return {
        "title": f"สรุปผลการบริหารลูกค้ารายสำคัญ (CRM Plus) ประจำเดือน{thai_month(view['month'])}",
        "scope": f"{view['scope_name']} ({view['scope']})",
        "period": f"{thai_day(view['period']['start'])} – {thai_day(view['period']['end'])}",
        "deadline": f"กำหนดบันทึกข้อมูลภายใน {thai_day(view['period']['recording_deadline'])}",
        "kind": KIND_NAMES[view["kind"]],
        "generated": f"จัดทำเมื่อ {thai_moment(view['generated_at'])}",
    }


# --- the formats ----------------------------------------------------------------------------------


def monthly_json(view: dict) -> bytes:
    """Return the view as UTF-8 JSON (Thai kept readable)."""
    return json.dumps(view, ensure_ascii=False, indent=2).encode("utf-8")


def monthly_html(view: dict, *, for_pdf: bool = False) -> str:
    """Return the summary as a standalone Thai HTML document (fonts shipped with kamcrm)."""
    return tables_html(heading(view), monthly_tables(view), for_pdf=for_pdf)


def tables_html(lines: dict, tables: list[Table], *, for_pdf: bool = False) -> str:
    """Return ``heading`` lines and ``tables`` as a standalone Thai HTML document, the layout
    every monthly document shares (the summary and the complaint return)."""
    from kamcrm.reports.export.pdf import FONT_FAMILY, font_face_css

    return render_template(
        "reports/monthly.html",
        heading=lines,
        tables=tables,
        for_pdf=for_pdf,
        font_faces=font_face_css() if for_pdf else "",
        font_family=FONT_FAMILY,
    )


def render_monthly(view: dict, fmt: str) -> bytes:
    """Return the summary in ``fmt`` (one of ``MONTHLY_FORMATS``) as bytes."""
    if fmt == "json":
        return monthly_json(view)
    if fmt == "html":
        return monthly_html(view).encode("utf-8")
    if fmt == "xlsx":
        return monthly_xlsx(view)
    if fmt == "pdf":
        return monthly_pdf(view)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(MONTHLY_FORMATS)}")


#: Workbook sheets and the tables (by number) each holds.
SHEETS = (
    ("สรุป", ("1.", "2.", "3", "4.", "5. ")),
    ("บันทึกล่าช้า", ("5.1", "5.2")),
    ("เปลี่ยนแปลง", ("6.",)),
)


def monthly_xlsx(view: dict) -> bytes:
    """Return the summary as an XLSX workbook: the figures, the late entries, the changes."""
    from kamcrm.reports.export.xlsx import ReportWorkbook

    book = ReportWorkbook()
    lines = heading(view)
    tables = monthly_tables(view)
    for sheet_name, prefixes in SHEETS:
        chosen = [table for table in tables if table.title.startswith(prefixes)]
        if chosen:
            write_tables(book, sheet_name, lines, chosen)
    return book.close()


def write_tables(book, sheet_name: str, lines: dict, tables: list[Table]) -> None:
    """Add a sheet to ``book`` (a ``ReportWorkbook``) holding ``heading`` lines and ``tables``,
    laid out as every report workbook is: title, scope line, kind line, then each table with
    its header, rows, total and note. Shared by the monthly summary and the complaint return."""
    formats = book.formats
    total_format = book.add_format(border=1, valign="top", bold=True, bg_color="#F5F5F5")
    sheet = book.sheet(sheet_name)
    sheet.write(0, 0, lines["title"], formats["title"])
    sheet.write(
        1, 0, f"{lines['scope']} · {lines['period']} · {lines['deadline']}", formats["plain"]
    )
    sheet.write(2, 0, f"{lines['kind']} · {lines['generated']}", formats["plain"])
    widths: dict[int, int] = {}
    row = 4
    for table in tables:
        sheet.write(row, 0, table.title, formats["subtitle"])
        row += 1
        for column, name in enumerate(table.header):
            sheet.write(row, column, name, formats["head"])
        row += 1
        for values in table.rows + ([table.total] if table.total else []):
            for column, value in enumerate(values):
                if values is table.total:
                    style = total_format
                else:
                    style = formats["number"] if isinstance(value, int) else formats["cell"]
                sheet.write(row, column, value, style)
                widths[column] = max(widths.get(column, 8), min(50, len(str(value)) + 2))
            row += 1
        if table.note:
            sheet.write(row, 0, table.note, formats["note"])
            row += 1
        row += 1
    for column, width in widths.items():
        sheet.set_column(column, column, width)


def monthly_pdf(view: dict) -> bytes:
    """Return the summary as an A4 landscape PDF in the Thai font shipped with kamcrm."""
    from kamcrm.reports.export.pdf import render_pdf

    return render_pdf(monthly_html(view, for_pdf=True))


# --- flask report monthly ----------------------------------------------------------------------


@click.command("monthly")
@with_appcontext
@in_one_transaction
@click.option("--month", required=True, help="The month, YYYY-MM (CE), e.g. 2021-01.")
@click.option(
    "--office",
    "office_code",
    help="An office code: that office with its branches; default the region.",
)
@click.option(
    "--format", "fmt", type=click.Choice(MONTHLY_FORMATS), default="json", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of stdout.",
)
@click.option(
    "--as-reported",
    is_flag=True,
    help="The summary kept after the recording deadline, not one made now.",
)
def monthly_command(
    month: str, office_code: str | None, fmt: str, output: str | None, as_reported: bool
) -> None:
    """Print or write the monthly CRM-Plus-style summary; one made now is kept as an on-demand snapshot."""
    from kamcrm.db import utcnow
    from kamcrm.errors import NotFound
    from kamcrm.org.access import scope_for
    from kamcrm.reports.monthly import monthly_report

    if output is None and fmt not in ("json", "html"):
        raise click.UsageError(f"--format {fmt} is binary; give --output FILE")
    try:
        scope = scope_for(None, office_code)
        view = monthly_report(month, scope, utcnow(), as_reported=as_reported, keep=not as_reported)
    except NotFound as error:
        raise click.ClickException(error.message) from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--month") from None
    content = render_monthly(view, fmt)
    if output:
        with open(output, "wb") as handle:
            handle.write(content)
        click.echo(f"wrote {output} ({len(content):,} bytes)", err=True)
    else:
        click.echo(content.decode("utf-8"))
