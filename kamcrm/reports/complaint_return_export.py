"""The monthly complaint return as JSON, HTML, XLSX and PDF: a Thai document with BE years.

Every format is drawn from the view of ``complaint_return.complaint_return_report`` and one
table layout (``return_tables``), printed by the monthly summary's renderers
(``monthly_export.tables_html`` and ``write_tables``), so the page, the workbook and the
PDF say the same thing as the summary's documents do, in the same layout.
"""

from __future__ import annotations

from kamcrm.reports.cr2 import CATEGORY_NAMES, MARK, PLAN2_TITLES, complaint_plan
from kamcrm.reports.monthly_export import (
    MEDIA_TYPES,
    TIER_NAMES,
    Table,
    monthly_json,
    percent,
    tables_html,
    thai_day,
    thai_moment,
    thai_month,
    write_tables,
)

RETURN_FORMATS = ("json", "html", "xlsx", "pdf")
__all__ = (
    "MEDIA_TYPES",
    "RETURN_FORMATS",
    "render_return",
    "return_filename",
    "return_tables",
    "heading",
)

KIND_NAMES = {
    "reported": "ตามที่รายงาน (จัดเก็บเมื่อครบกำหนดส่ง)",
    "on_demand": "ข้อมูล ณ ปัจจุบัน",
}
CELL_HEADER = ["รับ", "ไม่นับ", "ทันเวลา", "เกินเวลา", "รอผล", "ร้อยละ", "ผลเทียบเป้าหมาย"]
NOT_A_KEY_ACCOUNT = "ลูกค้าทั่วไป (ไม่ใช่ลูกค้ารายสำคัญ)"
_COUNTS = {"received": "รับในเดือน", "closed": "ปิดในเดือน", "open_at_month_end": "ค้าง ณ สิ้นเดือน"}
_CELL_NAMES = {
    "received": "รับ",
    "excluded": "ไม่นับ",
    "met": "ทันเวลา",
    "missed": "เกินเวลา",
    "pending": "รอผล",
    "pct": "ร้อยละ",
}


def verdict(cell: dict) -> str:
    """Return a cell's result against its target, marked as the CR2 marks it."""
    if cell["target_met"] is None:
        text = "–"
    elif cell["target_met"]:
        text = f"{MARK['met']} ผ่าน"
    else:
        text = f"{MARK['missed']} ไม่ผ่าน"
    return text if cell["final"] else f"{text} (ผลเบื้องต้น)"


def _cells(cell: dict) -> list:
    return [
        cell["received"],
        cell["excluded"],
        cell["met"],
        cell["missed"],
        cell["pending"],
        percent(cell["pct"]),
        verdict(cell),
    ]


def figure_name(name: str) -> str:
    """Return a figure's dotted name (``2.1a.METER_BILLING.met``) the way the return reads it."""
    if name in _COUNTS:
        return _COUNTS[name]
    *row, part = name.split(".")
    if row[0] == "group":
        group = NOT_A_KEY_ACCOUNT if row[1] == "none" else TIER_NAMES.get(row[1], row[1])
        return f"กลุ่มลูกค้า {group}: {_CELL_NAMES[part]}"
    if row[0] == "2.1a":
        which = "รวมทุกประเภท" if row[1] == "total" else CATEGORY_NAMES.get(row[1], row[1])
        return f"2.1 (ก) {which}: {_CELL_NAMES[part]}"
    return f"{PLAN2_TITLES.get(row[0], row[0])}: {_CELL_NAMES[part]}"


def _blank(value):
    return "–" if value is None else value


def return_tables(view: dict) -> list[Table]:
    """Return the return's tables, in the order every format shows them."""
    tables = [
        Table(
            "1. จำนวนข้อร้องเรียนประจำเดือน",
            ["รายการ", "จำนวน (เรื่อง)"],
            rows=[[text, view[key]] for key, text in _COUNTS.items()],
        )
    ]
    rows = Table(
        "2. การแก้ไขข้อร้องเรียนที่รับในเดือนภายในระยะเวลาที่กำหนด ณ สิ้นเดือน",
        ["ข้อ / เกณฑ์ (เป้าหมาย)", *CELL_HEADER],
        note="ไม่นับ = ข้อร้องเรียนที่ถูกคัดออก (ประพฤติมิชอบ ซ้ำ หรือถอนเรื่อง); "
        "รอผล = ยังไม่ปิดและยังไม่เกินกำหนด ผลจึงเป็นผลเบื้องต้น",
    )
    # The rows come in the form's order: 2.1a per category, its total, then 2.1b-d.
    for row in view["rows"]:
        number = PLAN2_TITLES[row["item"]].split(" ", 1)[0]
        rows.rows.append([f"2.1 {number} {complaint_plan(row)}", *_cells(row["month"])])
    tables.append(rows)
    groups = Table(
        "3. ข้อ 2.1 (ก) รวมทุกประเภท แยกตามกลุ่มลูกค้า (กลุ่มในวันที่รับเรื่อง)", ["กลุ่มลูกค้า", *CELL_HEADER]
    )
    for group in view["customer_groups"]:
        name = (
            NOT_A_KEY_ACCOUNT
            if group["tier"] is None
            else TIER_NAMES.get(group["tier"], group["tier"])
        )
        groups.rows.append([name, *_cells(group["month"])])
    tables.append(groups)

    changes = view.get("changes")
    if changes is not None:
        moved = Table(
            "4. ตัวเลขที่เปลี่ยนไปจากที่รายงาน",
            ["รายการ", "ตามที่รายงาน", "ณ ปัจจุบัน"],
            note=f"รายงานเมื่อ {thai_moment(view['reported_at'])}",
            figures=False,
        )
        for figure in changes["figures"]:
            moved.rows.append(
                [figure_name(figure["figure"]), _blank(figure["reported"]), _blank(figure["now"])]
            )
        tables.append(moved)
        complaints = Table(
            "4.1 ข้อร้องเรียนของเดือนที่บันทึกหรือแก้ไขหลังรายงาน",
            ["เลขที่", "สำนักงาน", "ประเภท", "รับเมื่อ", "ปิดเมื่อ", "คัดออก", "แก้ไขเมื่อ"],
            figures=False,
        )
        for item in changes["complaints"]:
            complaints.rows.append(
                [
                    item["ref"],
                    item["office"],
                    CATEGORY_NAMES.get(item["category"], item["category"]),
                    thai_moment(item["received_at"]),
                    thai_moment(item["closed_at"]),
                    item["excluded"] or "",
                    thai_moment(item["updated_at"]),
                ]
            )
        tables.append(complaints)
    return tables


def heading(view: dict) -> dict:
    """Return the title lines every format prints above the tables."""
    year, month = view["month"].split("-")
    return {
        "title": f"รายงานผลการแก้ไขข้อร้องเรียนของลูกค้า ประจำเดือน{thai_month(view['month'])}",
        "scope": f"{view['scope_name']} ({view['scope']})",
        "period": f"{thai_day(f'{year}-{month}-01')} – {thai_day(view['as_of'])}",
        "deadline": f"กำหนดส่งรายงานภายใน {thai_day(view['due_on'])}",
        "kind": KIND_NAMES[view["kind"]],
        "generated": f"จัดทำเมื่อ {thai_moment(view['generated_at'])}",
    }


def return_html(view: dict, *, for_pdf: bool = False) -> str:
    """Return the return as a standalone Thai HTML document (fonts shipped with kamcrm)."""
    return tables_html(heading(view), return_tables(view), for_pdf=for_pdf)


def return_xlsx(view: dict) -> bytes:
    """Return the return as an XLSX workbook: the figures, then what changed since reported."""
    from kamcrm.reports.export.xlsx import ReportWorkbook

    book = ReportWorkbook()
    lines = heading(view)
    tables = return_tables(view)
    write_tables(book, "รายงานประจำเดือน", lines, tables[:3])
    if len(tables) > 3:
        write_tables(book, "เปลี่ยนแปลง", lines, tables[3:])
    return book.close()


def return_pdf(view: dict) -> bytes:
    """Return the return as an A4 landscape PDF in the Thai font shipped with kamcrm."""
    from kamcrm.reports.export.pdf import render_pdf

    return render_pdf(return_html(view, for_pdf=True))


def render_return(view: dict, fmt: str) -> bytes:
    """Return the return in ``fmt`` (one of ``RETURN_FORMATS``) as bytes."""
    if fmt == "json":
        return monthly_json(view)
    if fmt == "html":
        return return_html(view).encode("utf-8")
    if fmt == "xlsx":
        return return_xlsx(view)
    if fmt == "pdf":
        return return_pdf(view)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(RETURN_FORMATS)}")


def return_filename(view: dict, fmt: str) -> str:
    """Return the download's file name, e.g. ``complaints-CBI-2021-03-reported.pdf``."""
    return f"complaints-{view['scope']}-{view['month']}-{view['kind']}.{fmt}"
