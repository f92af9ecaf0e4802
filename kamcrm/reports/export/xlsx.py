"""A small XlsxWriter helper: an in-memory workbook with the house formats and A4 landscape sheets."""

from __future__ import annotations

import io

#: Thai-capable font that every Office and LibreOffice install in a PEA office has.
XLSX_FONT = "Tahoma"

#: Named formats every report uses; each is built on the base font.
HOUSE_FORMATS = {
    "title": {"bold": True, "font_size": 14},
    "subtitle": {"bold": True, "font_size": 12},
    "plain": {"valign": "top"},
    "note": {"italic": True, "font_color": "#555555"},
    "head": {
        "bold": True,
        "bg_color": "#E7EEF7",
        "border": 1,
        "text_wrap": True,
        "align": "center",
        "valign": "vcenter",
    },
    "cell": {"border": 1, "text_wrap": True, "valign": "top"},
    "cell_bold": {"border": 1, "text_wrap": True, "valign": "top", "bold": True},
    "number": {"border": 1, "valign": "top", "num_format": "#,##0"},
    "decimal": {"border": 1, "valign": "top", "num_format": "0.00"},
    # Met / missed cells: a fill and a mark, so the state is visible without colour too.
    "met": {
        "border": 1,
        "text_wrap": True,
        "valign": "top",
        "bg_color": "#DFF0D8",
        "font_color": "#1E5E20",
    },
    "missed": {
        "border": 1,
        "text_wrap": True,
        "valign": "top",
        "bg_color": "#F8D7DA",
        "font_color": "#8A1C24",
    },
    "neutral": {"border": 1, "text_wrap": True, "valign": "top", "bg_color": "#F5F5F5"},
}


class ReportWorkbook:
    """An in-memory XLSX workbook with the house formats; ``close()`` returns its bytes.

    >>> book = ReportWorkbook()
    >>> sheet = book.sheet("CR2")
    >>> sheet.write(0, 0, "แบบฟอร์ม", book.formats["title"])
    >>> data = book.close()
    """

    def __init__(self, font_name: str = XLSX_FONT, constant_memory: bool = False):
        import xlsxwriter  # only when a workbook is made: not at start-up (tests/test_startup.py)

        self._buffer = io.BytesIO()
        # constant_memory streams rows to disk for very long sheets (rows in order only).
        # Text is data, never a formula or a link: an account or office named "=HYPERLINK(…)"
        # must come back as that text, not run in whoever opens the file.
        self.workbook = xlsxwriter.Workbook(
            self._buffer,
            {
                "in_memory": not constant_memory,
                "constant_memory": constant_memory,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.font_name = font_name
        self.formats = {name: self.add_format(**props) for name, props in HOUSE_FORMATS.items()}

    def add_format(self, **props):
        """Return a new format on the house font."""
        return self.workbook.add_format({"font_name": self.font_name, **props})

    def sheet(self, name: str, landscape: bool = True):
        """Add a worksheet set up to print on A4 (landscape by default), one page wide."""
        sheet = self.workbook.add_worksheet(name)
        sheet.set_paper(9)  # A4
        if landscape:
            sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        return sheet

    def close(self) -> bytes:
        """Finish the workbook and return the file's bytes."""
        self.workbook.close()
        return self._buffer.getvalue()
