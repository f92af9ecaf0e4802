"""The CR2 report laid out as the seed's form, rendered as HTML, PDF, XLSX or JSON.

Every renderer takes the CR2 JSON of ``kamcrm.compliance.engine.cr2_report`` and returns
bytes (``render_cr2``) so the CLI, the API and the pages serve the same document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from markupsafe import Markup

from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.org.models import Office
from kamcrm.periods import THAI_MONTHS_SHORT, be_year
from kamcrm.reports import charts
from kamcrm.reports.export.formats import render_as, report_filename, report_json
from kamcrm.reports.export.html import bangkok_timestamp, render_report_template, thai_long_date
from kamcrm.reports.export.pdf import FONT_FAMILY, font_face_css, render_pdf
from kamcrm.reports.export.xlsx import ReportWorkbook

CR2_FORMATS = ("json", "html", "xlsx", "pdf")
MIMETYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")

PLAN_TITLE = (
    "แผนงานที่ 1 การสร้างความสัมพันธ์เพื่อธุรกิจฐานลูกค้ารายสำคัญ (Key Account Management) "
    "(ตามคู่มือ KAMT) และนำระบบ Digital CRM มาใช้สนับสนุนในการให้บริการลูกค้า"
)
#: The form's title of each item.
ITEM_TITLES = {
    "1.1.1": "การบริการเสริมโดยไม่คิดค่าใช้จ่าย (Free Maintenance Service: FMS)",
    "1.1.2": "กิจกรรมการสร้างความสัมพันธ์กับลูกค้ารายสำคัญ (Relation Building Activity: RBA)",
    "1.1.3": "พนักงานบริหารลูกค้ารายสำคัญ (KAMR) บริหารความสัมพันธ์กับลูกค้าโดยการติดต่อสื่อสาร "
    "(Communication: COM) และบันทึกผลในโปรแกรม CRM Plus",
    "1.2": "การเยี่ยมเยียนลูกค้ารายสำคัญโดยผู้บริหารและผู้กำกับดูแล พร้อมบันทึกผลในโปรแกรม CRM Plus",
    "1.3": "จัดกิจกรรมนันทนาการ/ประชุมสัมมนาลูกค้ารายสำคัญ (SEM)",
    "1.5": "การสนับสนุนลูกค้ารายใหม่ ตามข้อมูล BOI (BOI)",
}
TIER_NAMES = {
    "STRATEGIC": "Strategic",
    "STAR": "Star",
    "STATUS": "Status",
    "STREAMLINE": "Streamline",
}
PERIOD_NAMES = {"year": "ปี", "half": "ครึ่งปี", "quarter": "ไตรมาส"}
EXEC_ROLE_PLANS = {
    "region_director": "ผู้อำนวยการการไฟฟ้าเขต หรือผู้แทน จำนวน {quota} ราย/ไตรมาส",
    "assistant_director": "ผู้ช่วยผู้อำนวยการ (อช.) หรือผู้แทน จำนวน {quota} ราย/ไตรมาส/คน ({units} คน)",
    "office_manager": "ผจก.กฟฟ.ชั้น 1-3 จำนวน {quota} ราย/ไตรมาส/กฟฟ. ({units} กฟฟ.)",
}
COUNT_PLANS = {
    "PLN": "การมีส่วนร่วมของลูกค้าในการวางแผนงานที่มีผลกระทบโดยตรงกับลูกค้า เช่น แผนการดับไฟฟ้าเพื่อปฏิบัติงาน (PLN) — ไม่กำหนดเป้าหมาย",
    "BOI": "ติดต่อสื่อสาร/เยี่ยมเยียนลูกค้ารายใหม่เรื่องความต้องการใช้ไฟฟ้าและการวางแผนการจ่ายไฟฟ้า — ไม่กำหนดเป้าหมาย",
}
LEAD_UNITS = {"1.2": "ผู้บริหาร กฟฟ.เขต, ผจก.กฟฟ.ชั้น 1-3"}
PLAN2_TITLE = (
    "แผนงานที่ 2 การบริหารจัดการข้อร้องเรียนของลูกค้า: แก้ไขข้อร้องเรียนให้แล้วเสร็จภายในระยะเวลาที่กำหนด "
    "จำแนกตามกลุ่มลูกค้าและประเภทข้อร้องเรียน"
)
#: The form's title of each plan 2 item.
PLAN2_TITLES = {
    "2.1a": "(ก) ข้อร้องเรียนแต่ละประเภทแก้ไขแล้วเสร็จภายในระยะเวลาที่กำหนด",
    "2.1b": "(ข) ข้อร้องเรียนเร่งด่วนแก้ไขแล้วเสร็จภายใน 24 ชั่วโมง",
    "2.1c": "(ค) ข้อร้องเรียนทั้งหมดแก้ไขแล้วเสร็จภายใน 30 วัน",
    "2.1d": "(ง) ข้อร้องเรียนทั้งหมดแก้ไขแล้วเสร็จภายใน 15 วัน",
}
#: Thai names of the default complaint categories (SPEC section 8, our reading).
CATEGORY_NAMES = {
    "POWER_QUALITY": "ด้านคุณภาพไฟฟ้า",
    "SERVICE_QUALITY": "ด้านคุณภาพการให้บริการ",
    "METER_BILLING": "ด้านการจดหน่วยและแจ้งค่าไฟฟ้า",
    "DISCONNECTION": "ด้านการงดจ่ายและต่อกลับไฟฟ้า",
    "NETWORK": "ด้านระบบไฟฟ้า",
    "OTHER": "ด้านอื่น ๆ",
}
#: Row 2.2 of the form: the complaint-prevention plans and their quarter reports.
PREVENTION_TITLE = "การจัดทำแผนป้องกันการเกิดข้อร้องเรียน และรายงานผลการดำเนินงานรายไตรมาส"
PREVENTION_PLAN = (
    "กฟฟ.ชั้น 1-3 ทุกแห่ง ({offices} กฟฟ.) จัดทำแผนป้องกันการเกิดข้อร้องเรียนประจำปี "
    "และรายงานผลภายใน {days} วันหลังสิ้นไตรมาส"
)
PREVENTION_LEAD_UNIT = "กฟฟ.ชั้น 1-3"
PLAN2_LEAD_UNIT = "กฟฟ.ชั้น 1-3, กฟส., กบล."
DEFAULT_LEAD_UNIT = "กฟฟ.ชั้น 1-3, กฟส."
MARK = {"met": "✓", "missed": "✗"}


@dataclass
class Cell:
    """One result cell: its lines of text, its state (met, missed, neutral, none) and the
    progress bar the CR2 page draws in it (None where the page draws none)."""

    lines: list[str]
    state: str
    chart: Markup | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Line:
    """One row of an item: a tier, an executive role or a count."""

    plan: str
    cells: list[Cell]


@dataclass
class Item:
    """One item of the form (1.1.1, 1.2, …) with its rows."""

    number: str
    title: str
    period: str
    lead_unit: str
    lines: list[Line] = field(default_factory=list)
    #: The title of the plan this item opens (plan 2 opens at 2.1a), printed above it.
    plan_heading: str | None = None


def _item_key(number: str) -> tuple:
    return tuple(int(part) for part in number.split(".") if part.isdigit())


def scope_name(code: str) -> str:
    """Return the office name printed for a scope code (the code itself if unknown)."""
    name = db.session.execute(
        sa.select(Office.name).where(Office.code == code)
    ).scalar_one_or_none()
    return name or code


def column_headings(year: int) -> list[str]:
    """Return the form's column headings, e.g. ``ไตรมาสที่ 1-2/2564``."""
    be = be_year(year)
    return [f"ไตรมาสที่ {column[1:]}/{be}" for column in COLUMNS]


def _rule_cell(value: dict | None, target_pct: float) -> Cell:
    if value is None:
        return Cell(["—"], "none")
    if value["pct"] is None:
        return Cell([f"{value['met']:,}/{value['population']:,} ราย", "ไม่มีลูกค้าในกลุ่ม"], "neutral")
    state = "met" if value["target_met"] else "missed"
    verdict = "ผ่านเป้าหมาย" if value["target_met"] else "ไม่ผ่านเป้าหมาย"
    return Cell(
        [
            f"ดำเนินการได้ {value['met']:,} จาก {value['population']:,} ราย",
            f"ร้อยละ {value['pct']:.2f} {MARK[state]} {verdict}",
        ],
        state,
        charts.progress_bar(
            value["pct"], target_pct, label=f"ร้อยละ {value['pct']:.2f} เป้าหมาย {target_pct:g}"
        ),
    )


def _visit_cell(value: dict | None) -> Cell:
    if value is None:
        return Cell(["—"], "none")
    lines = [f"เป้าหมาย {value['target']:,} ราย / ดำเนินการได้ {value['achieved']:,} ราย"]
    if value["unit_quarters"] == 0:
        return Cell(lines + ["ไม่มีหน่วยรับผิดชอบ"], "neutral")
    bar_state = charts.quota_status(
        value["pct"], value["unit_quarters"], value["unit_quarters_met"]
    )
    state = "met" if bar_state == "met" else "missed"
    pct = "—" if value["pct"] is None else f"{value['pct']:.2f}"
    lines.append(
        f"ร้อยละ {pct} · ครบโควตา {value['unit_quarters_met']}/{value['unit_quarters']} หน่วย-ไตรมาส"
    )
    lines.append(f"{MARK[state]} {'ผ่านเป้าหมาย' if state == 'met' else 'ไม่ผ่านเป้าหมาย'}")
    return Cell(
        lines, state, charts.progress_bar(value["pct"], 100, label=f"ร้อยละ {pct}", state=bar_state)
    )


def _count_cell(value: dict | None) -> Cell:
    if value is None:
        return Cell(["—"], "none")
    return Cell([f"{value['activities']:,} ครั้ง / {value['accounts']:,} ราย"], "neutral")


def _complaint_cell(value: dict | None, target_pct: float) -> Cell:
    if value is None:
        return Cell(["—"], "none")
    lines = [f"แล้วเสร็จภายในกำหนด {value['met']:,} จาก {value['met'] + value['missed']:,} เรื่อง"]
    if value["pct"] is None:
        state = "neutral"
        lines.append("ยังไม่มีเรื่องที่ครบกำหนด")
        chart = None
    else:
        state = "met" if value["target_met"] else "missed"
        verdict = "ผ่านเป้าหมาย" if value["target_met"] else "ไม่ผ่านเป้าหมาย"
        lines.append(f"ร้อยละ {value['pct']:.2f} {MARK[state]} {verdict}")
        chart = charts.progress_bar(
            value["pct"], target_pct, label=f"ร้อยละ {value['pct']:.2f} เป้าหมาย {target_pct:g}"
        )
    if value["pending"]:
        lines.append(f"รอผล {value['pending']:,} เรื่อง (ผลเบื้องต้น)")
    if value["excluded"]:
        lines.append(f"ไม่นับ {value['excluded']:,} เรื่อง")
    return Cell(lines, state, chart)


def _prevention_cell(value: dict | None) -> Cell:
    if value is None:
        return Cell(["—"], "none")
    if not value["offices"]:
        return Cell(["ไม่มี กฟฟ.ชั้น 1-3 ในขอบเขต"], "neutral")
    lines = [f"มีแผน {value['with_plan']:,} จาก {value['offices']:,} กฟฟ."]
    judged = value["on_time"] + value["late"] + value["missing"]
    lines.append(f"รายงานทันกำหนด {value['on_time']:,} จาก {judged:,} ฉบับ")
    chart = None
    if value["pct"] is not None:
        lines.append(f"ร้อยละ {value['pct']:.2f}")
        chart = charts.progress_bar(
            value["pct"], 100, label=f"ร้อยละ {value['pct']:.2f} เป้าหมาย 100"
        )
    if value["late"]:
        lines.append(f"ล่าช้า {value['late']:,} ฉบับ")
    if value["missing"]:
        lines.append(f"ไม่ได้รายงาน {value['missing']:,} ฉบับ")
    if value["pending"]:
        lines.append(f"รอรายงาน {value['pending']:,} ฉบับ (ผลเบื้องต้น)")
    state = "met" if value["target_met"] else "missed"
    lines.append(f"{MARK[state]} {'ผ่านเป้าหมาย' if state == 'met' else 'ไม่ผ่านเป้าหมาย'}")
    return Cell(lines, state, chart)


def complaint_plan(row: dict) -> str:
    """Return the form's text of a plan 2.1 row: which complaints, within what, the target."""
    if row["item"] == "2.1a" and row["category"] is not None:
        name = CATEGORY_NAMES.get(row["category"], row["category"])
        return f"{name} ภายใน {row['limit_days']} วัน (ร้อยละ {row['target_pct']:g})"
    if row["item"] == "2.1a":
        return f"รวมทุกประเภท ตามกำหนดของแต่ละประเภท (ร้อยละ {row['target_pct']:g})"
    limit = (
        f"{row['limit_hours']} ชั่วโมง"
        if row["limit_hours"] is not None
        else f"{row['limit_days']} วัน"
    )
    which = "ข้อร้องเรียนเร่งด่วน" if row["urgent_only"] else "ข้อร้องเรียนทั้งหมด"
    return f"{which} ภายใน {limit} (ร้อยละ {row['target_pct']:g})"


def cr2_items(report: dict) -> list[Item]:
    """Return the report's rows grouped by item, in the form's order."""
    year = report["year"]
    months = f"{THAI_MONTHS_SHORT[0]}-{THAI_MONTHS_SHORT[11]}{be_year(year)}"
    items: dict[str, Item] = {}

    def item(number: str) -> Item:
        if number not in items:
            items[number] = Item(
                number=number,
                title=ITEM_TITLES.get(number, ""),
                period=months,
                lead_unit=LEAD_UNITS.get(number, DEFAULT_LEAD_UNIT),
            )
        return items[number]

    for rule in report["rules"]:
        planned = rule["planned_population"]
        plan = f"กลุ่ม {TIER_NAMES.get(rule['tier'], rule['tier'])}"
        if planned is not None:
            plan += f" จำนวน {planned:,} ราย"
        plan += (
            f" (ร้อยละ {rule['target_pct']:g}) อย่างน้อย {rule['min_count']} ครั้ง/"
            f"{PERIOD_NAMES[rule['period']]}/ราย"
        )
        entry = item(rule["item"])
        entry.title = entry.title or rule["type"]  # an item number the form does not know
        entry.lines.append(
            Line(plan, [_rule_cell(rule["cumulative"][c], rule["target_pct"]) for c in COLUMNS])
        )
    for visit in report["executive_visits"]:
        plan = EXEC_ROLE_PLANS[visit["exec_role"]].format(
            quota=visit["quota_per_quarter"], units=visit["units"]
        )
        item(visit["item"]).lines.append(
            Line(plan, [_visit_cell(visit["cumulative"][c]) for c in COLUMNS])
        )
    for count in report["counts"]:
        plan = COUNT_PLANS.get(count["type"], count["type"])
        item(count["item"]).lines.append(
            Line(plan, [_count_cell(count["cumulative"][c]) for c in COLUMNS])
        )
    ordered = [items[number] for number in sorted(items, key=_item_key)]
    plan2: dict[str, Item] = {}
    for row in report.get("complaints", ()):
        entry = plan2.get(row["item"])
        if entry is None:
            entry = plan2[row["item"]] = Item(
                number=row["item"],
                title=PLAN2_TITLES.get(row["item"], ""),
                period=months,
                lead_unit=PLAN2_LEAD_UNIT,
            )
        entry.lines.append(
            Line(
                complaint_plan(row),
                [_complaint_cell(row["cumulative"][c], row["target_pct"]) for c in COLUMNS],
            )
        )
    prevention = report.get("complaint_prevention")
    if prevention is not None:
        entry = plan2[prevention["item"]] = Item(
            number=prevention["item"],
            title=PREVENTION_TITLE,
            period=months,
            lead_unit=PREVENTION_LEAD_UNIT,
        )
        plan = PREVENTION_PLAN.format(offices=prevention["offices"], days=prevention["report_days"])
        entry.lines.append(
            Line(plan, [_prevention_cell(prevention["cumulative"][c]) for c in COLUMNS])
        )
    if plan2:
        first = next(iter(plan2.values()))
        first.plan_heading = PLAN2_TITLE
    return ordered + list(plan2.values())


def coverage_chart(report: dict, font: str = charts.FONT) -> dict | None:
    """Return the caption and bar chart of each rule's latest cumulative column, as the
    region page draws its offices together (None when no column has figures yet)."""
    live = [
        k
        for k, column in enumerate(COLUMNS)
        if any(rule["cumulative"][column] for rule in report["rules"])
    ]
    if not live:
        return None
    column = COLUMNS[live[-1]]
    bars = [
        charts.Bar(
            f"{rule['type']} {TIER_NAMES.get(rule['tier'], rule['tier'])}",
            (rule["cumulative"][column] or {}).get("pct"),
            rule["target_pct"],
        )
        for rule in report["rules"]
    ]
    caption = (
        f"ร้อยละของลูกค้าที่ดำเนินการครบตามเกณฑ์ ผลสะสม{column_headings(report['year'])[live[-1]]}"
        " (เส้นดำ = เป้าหมาย)"
    )
    return {"caption": caption, "svg": charts.bar_chart(bars, label=caption, unit="%", font=font)}


def cr2_heading(report: dict, generated_at: datetime, name: str | None = None) -> dict:
    """Return the title lines printed above the table."""
    name = name or scope_name(report["scope"])
    return {
        "title": (
            f"แบบฟอร์มรายงานผลการดำเนินงานตามแผนปฏิบัติ ประจำปี {be_year(report['year'])} ของ {name}"
        ),
        "subtitle": "ด้าน CUSTOMER — CR2",
        "scope": f"ขอบเขต: {name} ({report['scope']})",
        "as_of": f"ข้อมูล ณ วันที่ {thai_long_date(date.fromisoformat(report['as_of']))}",
        "generated": f"จัดทำเมื่อ {bangkok_timestamp(generated_at)} (เวลากรุงเทพฯ)",
        "legend": "✓ ผ่านเป้าหมาย · ✗ ไม่ผ่านเป้าหมาย · — ยังไม่ถึงไตรมาส (หลังวันที่ข้อมูล)"
        " · ผลเบื้องต้น = ยังมีข้อร้องเรียนที่รอผล",
    }


def render_cr2_html(
    report: dict,
    *,
    generated_at: datetime | None = None,
    name: str | None = None,
    font_base_url: str | None = None,
    for_pdf: bool = False,
) -> str:
    """Return the report as a standalone HTML page (the same template the PDF uses).

    ``font_base_url`` is where the Thai font is served from (a page passes its static URL);
    by default the package's own folder as a ``file://`` URL.
    """
    generated_at = generated_at or utcnow()
    return render_report_template(
        "reports/cr2.html",
        report=report,
        heading=cr2_heading(report, generated_at, name),
        headings=["แผนงาน / โครงการ / งาน", "แผนปฏิบัติ (และเป้าหมาย)", "ช่วงเวลา", "หน่วยงานหลัก"],
        results_heading="ผลการดำเนินงานสะสม",
        column_headings=column_headings(report["year"]),
        plan_title=PLAN_TITLE,
        items=cr2_items(report),
        summary_chart=coverage_chart(report, font=FONT_FAMILY),
        font_css=font_face_css(font_base_url),
        font_family=FONT_FAMILY,
        for_pdf=for_pdf,
    )


def render_cr2_pdf(
    report: dict, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report as an A4 landscape PDF with the Thai font embedded."""
    return render_pdf(render_cr2_html(report, generated_at=generated_at, name=name, for_pdf=True))


def render_cr2_xlsx(
    report: dict, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report as an XLSX workbook: the form on sheet CR2, the figures on sheet ข้อมูล."""
    generated_at = generated_at or utcnow()
    heading = cr2_heading(report, generated_at, name)
    book = ReportWorkbook()
    formats = book.formats
    sheet = book.sheet("CR2")
    last_column = 3 + len(COLUMNS)
    sheet.merge_range(0, 0, 0, last_column, heading["title"], formats["title"])
    sheet.merge_range(1, 0, 1, last_column, heading["subtitle"], formats["subtitle"])
    sheet.merge_range(
        2,
        0,
        2,
        last_column,
        f"{heading['scope']} · {heading['as_of']} · {heading['generated']}",
        formats["plain"],
    )
    sheet.merge_range(3, 0, 3, last_column, heading["legend"], formats["note"])
    top = 5
    for column, text in enumerate(
        ["แผนงาน / โครงการ / งาน", "แผนปฏิบัติ (และเป้าหมาย)", "ช่วงเวลา", "หน่วยงานหลัก"]
    ):
        sheet.merge_range(top, column, top + 1, column, text, formats["head"])
    sheet.merge_range(top, 4, top, last_column, "ผลการดำเนินงานสะสม", formats["head"])
    for offset, text in enumerate(column_headings(report["year"])):
        sheet.write(top + 1, 4 + offset, text, formats["head"])
    row = top + 2
    sheet.merge_range(row, 0, row, last_column, PLAN_TITLE, formats["cell_bold"])
    sheet.set_row(row, 36)
    row += 1
    for item in cr2_items(report):
        if item.plan_heading:
            sheet.merge_range(row, 0, row, last_column, item.plan_heading, formats["cell_bold"])
            sheet.set_row(row, 36)
            row += 1
        first, last = row, row + len(item.lines) - 1
        title = f"{item.number} {item.title}".strip()
        for column, text in ((0, title), (2, item.period), (3, item.lead_unit)):
            if first == last:
                sheet.write(first, column, text, formats["cell"])
            else:
                sheet.merge_range(first, column, last, column, text, formats["cell"])
        for line in item.lines:
            sheet.write(row, 1, line.plan, formats["cell"])
            for offset, cell in enumerate(line.cells):
                style = (
                    formats.get(cell.state, formats["cell"])
                    if cell.state != "none"
                    else formats["cell"]
                )
                sheet.write(row, 4 + offset, cell.text, style)
            sheet.set_row(row, 15 * max(3, max(len(cell.lines) for cell in line.cells) + 1))
            row += 1
    sheet.set_column(0, 0, 38)
    sheet.set_column(1, 1, 42)
    sheet.set_column(2, 2, 13)
    sheet.set_column(3, 3, 16)
    sheet.set_column(4, last_column, 30)
    sheet.freeze_panes(top + 2, 0)
    sheet.repeat_rows(top, top + 1)
    _write_data_sheet(book, report)
    return book.close()


def _write_data_sheet(book: ReportWorkbook, report: dict) -> None:
    # The same figures as numbers, one row per cell, for anyone who analyses them further.
    formats = book.formats
    sheet = book.sheet("ข้อมูล")
    header = [
        "item",
        "type",
        "tier / exec_role",
        "column",
        "population / target",
        "met / achieved",
        "pct",
        "target_pct",
        "target_met",
        "unit_quarters",
        "unit_quarters_met",
    ]
    for column, text in enumerate(header):
        sheet.write(0, column, text, formats["head"])
    row = 1

    def put(values):
        nonlocal row
        for column, value in enumerate(values):
            if value is None:
                sheet.write_blank(row, column, None, formats["cell"])
            elif isinstance(value, bool):
                sheet.write_boolean(row, column, value, formats["cell"])
            elif isinstance(value, float):
                sheet.write_number(row, column, value, formats["decimal"])
            elif isinstance(value, int):
                sheet.write_number(row, column, value, formats["number"])
            else:
                sheet.write_string(row, column, value, formats["cell"])
        row += 1

    for rule in report["rules"]:
        for column in COLUMNS:
            value = rule["cumulative"][column]
            if value is not None:
                put(
                    [
                        rule["item"],
                        rule["type"],
                        rule["tier"],
                        column,
                        value["population"],
                        value["met"],
                        value["pct"],
                        rule["target_pct"],
                        value["target_met"],
                        None,
                        None,
                    ]
                )
    for visit in report["executive_visits"]:
        for column in COLUMNS:
            value = visit["cumulative"][column]
            if value is not None:
                put(
                    [
                        visit["item"],
                        "EXV",
                        visit["exec_role"],
                        column,
                        value["target"],
                        value["achieved"],
                        value["pct"],
                        None,
                        None,
                        value["unit_quarters"],
                        value["unit_quarters_met"],
                    ]
                )
    for count in report["counts"]:
        for column in COLUMNS:
            value = count["cumulative"][column]
            if value is not None:
                put(
                    [
                        count["item"],
                        count["type"],
                        None,
                        column,
                        value["activities"],
                        value["accounts"],
                        None,
                        None,
                        None,
                        None,
                        None,
                    ]
                )
    # Plan 2: population = complaints judged (met + missed), met = closed within the limit.
    for entry in report.get("complaints", ()):
        for column in COLUMNS:
            value = entry["cumulative"][column]
            if value is not None:
                put(
                    [
                        entry["item"],
                        "complaints",
                        entry["category"],
                        column,
                        value["met"] + value["missed"],
                        value["met"],
                        value["pct"],
                        entry["target_pct"],
                        value["target_met"],
                        None,
                        None,
                    ]
                )
    # Plan 2.2: the plans (population = class 1-3 offices), then the quarter reports
    # (population = reports judged, met = on time).
    prevention = report.get("complaint_prevention")
    if prevention is not None:
        for column in COLUMNS:
            value = prevention["cumulative"][column]
            if value is not None:
                put(
                    [
                        prevention["item"],
                        "prevention_plans",
                        None,
                        column,
                        value["offices"],
                        value["with_plan"],
                        value["plan_pct"],
                        None,
                        None,
                        None,
                        None,
                    ]
                )
                put(
                    [
                        prevention["item"],
                        "prevention_reports",
                        None,
                        column,
                        value["on_time"] + value["late"] + value["missing"],
                        value["on_time"],
                        value["pct"],
                        100.0,
                        value["target_met"],
                        None,
                        None,
                    ]
                )
    sheet.set_column(0, 3, 16)
    sheet.set_column(4, 10, 14)
    sheet.freeze_panes(1, 0)


def cr2_json(report: dict) -> bytes:
    """Return the report as UTF-8 JSON."""
    return report_json(report)


def cr2_filename(report: dict, fmt: str) -> str:
    """Return a default file name, e.g. ``CR2_R2_2021_as-of_2021-06-30.pdf``."""
    return report_filename("CR2", report, fmt)


def render_cr2(
    report: dict, fmt: str, *, generated_at: datetime | None = None, name: str | None = None
) -> bytes:
    """Return the report in ``fmt`` (one of CR2_FORMATS) as bytes."""
    return render_as(
        fmt,
        report,
        {
            "html": lambda r, **o: render_cr2_html(r, **o).encode("utf-8"),
            "xlsx": render_cr2_xlsx,
            "pdf": render_cr2_pdf,
        },
        generated_at=generated_at,
        name=name,
    )
