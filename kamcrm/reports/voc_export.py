"""The VOC register as an XLSX file in the layout of form VOC-CRM-001 (the CRM manual's
record of the customer's voice): Thai headers, Buddhist-era dates.

The rows are read in batches and written with XlsxWriter's constant-memory mode, so a
register of any length is never held in memory as rows or cells.
"""

from __future__ import annotations

from datetime import date

from kamcrm.extensions import db
from kamcrm.periods import be_year
from kamcrm.reports.export.xlsx import ReportWorkbook
from kamcrm.voc.queries import Filters, VocEntry, register

#: Thai month abbreviations for the BE dates of the form.
_THAI_MONTHS = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
_KINDS = {"feedback": "ข้อเสนอแนะ/คำชม", "complaint": "ข้อร้องเรียน", "request": "ความต้องการ/คำขอ"}
_SOURCES = {"activity": "กิจกรรมลูกค้ารายสำคัญ", "complaint": "ระบบข้อร้องเรียน", "survey": "แบบสำรวจ"}

#: (Thai header, width) of each column, in the form's order. The key is the one the list of
#: VOC-system references takes back (``key,voc_ref,voc_ref_on``).
COLUMNS = (
    ("ลำดับ", 6),
    ("วันที่", 12),
    ("รหัส", 10),
    ("ชื่อลูกค้า", 30),
    ("หมายเลขผู้ใช้ไฟฟ้า", 16),
    ("ประเภทเสียงของลูกค้า", 16),
    ("หมวดหมู่", 18),
    ("เสียงของลูกค้า", 50),
    ("ช่องทาง/แหล่งที่มา", 18),
    ("มีนัยสำคัญ", 10),
    ("เลขที่ในระบบ PEA VOC System", 18),
    ("วันที่บันทึกลงระบบ", 14),
    ("ข้อร้องเรียนที่เกี่ยวข้อง", 16),
    ("การไฟฟ้าที่รับผิดชอบ", 22),
    ("พนักงานบริหารลูกค้ารายสำคัญ", 22),
)
#: Rows read from the database at a time.
BATCH = 500


def thai_day(day: date | None) -> str:
    """Return ``day`` as the form writes it: 5 ม.ค. 2564."""
    if day is None:
        return ""
    return f"{day.day} {_THAI_MONTHS[day.month - 1]} {be_year(day.year)}"


def voc_workbook(user, filters: Filters, *, today: date) -> bytes:
    """Return the register ``user`` sees under ``filters`` as a VOC-CRM-001 workbook."""
    book = ReportWorkbook(constant_memory=True)
    sheet = book.sheet("VOC-CRM-001")
    for column, (_, width) in enumerate(COLUMNS):
        sheet.set_column(column, column, width)
    sheet.write_string(
        0, 0, "แบบฟอร์ม VOC-CRM-001 บันทึกเสียงของลูกค้า (Voice of Customer)", book.formats["title"]
    )
    sheet.write_string(1, 0, f"ข้อมูล ณ วันที่ {thai_day(today)}", book.formats["note"])
    for column, (title, _) in enumerate(COLUMNS):
        sheet.write_string(3, column, title, book.formats["head"])
    statement = register(user, filters)
    row_number = 4
    if statement is not None:
        result = db.session.execute(statement.execution_options(yield_per=BATCH))
        cell = book.formats["cell"]
        for number, row in enumerate(result, start=1):
            entry = VocEntry.from_row(row)
            values = (
                number,
                thai_day(entry.day),
                entry.key,
                entry.account_name or "",
                entry.account_no or "",
                _KINDS.get(entry.kind, entry.kind),
                entry.category or "",
                entry.text or "",
                _SOURCES.get(entry.source, entry.source),
                "✓" if entry.significant else "",
                entry.voc_ref or "",
                thai_day(entry.voc_ref_on),
                entry.complaint_ref or "",
                f"{entry.office_code} {entry.office_name}",
                entry.kamr_name or "",
            )
            for column, value in enumerate(values):
                if isinstance(value, int):
                    sheet.write_number(row_number, column, value, book.formats["number"])
                else:
                    sheet.write_string(row_number, column, value, cell)
            row_number += 1
        result.close()
    sheet.freeze_panes(4, 0)
    return book.close()
