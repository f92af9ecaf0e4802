"""Reading interchange files: CSV (UTF-8, a BOM accepted) or XLSX (the first sheet).

A reader gives the header and then ``(line, cells)`` pairs, where ``line`` is the line an
editor or a spreadsheet shows (the header is line 1; a CSV record spanning several lines is
numbered by its first). Blank rows are skipped. The raw bytes pass through a SHA-256 so
the import can name the exact file in the audit log.
"""
from __future__ import annotations

import csv
import hashlib
import io
from typing import BinaryIO, Iterator

from kamcrm.errors import Message

#: File name endings the importer reads.
EXTENSIONS = (".csv", ".xlsx")


class UnreadableFile(Exception):
    """The file cannot be read at all; ``line`` is where reading stopped."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _HashingReader(io.RawIOBase):
    """A raw binary stream that feeds every byte it reads to a SHA-256."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._stream.read(len(buffer))
        if not chunk:
            return 0
        self.digest.update(chunk)
        self.size += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


class TableFile:
    """An open interchange file: ``header`` then ``rows()``; ``sha256``/``size`` once read."""

    def __init__(self, stream: BinaryIO, filename: str):
        self.filename = filename
        name = filename.lower()
        if name.endswith(".xlsx"):
            # A workbook is a zip file, read from its end: it has to be whole in memory.
            self._source = _HashingReader(stream)
            self._rows = _xlsx_rows(self._source.read())
        elif name.endswith(".csv"):
            self._source = _HashingReader(stream)
            self._rows = _csv_rows(self._source)
        else:
            raise UnreadableFile(1, Message("'%(filename)s' is not a .csv or .xlsx file", filename=filename))
        self.header: list[str] | None = None
        first = next(self._rows, None)
        if first is not None:
            self.header = [_header_name(cell) for cell in first[1]]

    def rows(self) -> Iterator[tuple[int, list]]:
        """Yield ``(line, cells)`` for every non-blank row after the header."""
        return self._rows

    @property
    def sha256(self) -> str:
        return self._source.digest.hexdigest()

    @property
    def size(self) -> int:
        return self._source.size


def _header_name(cell) -> str:
    if cell is None:
        return ""
    return str(cell).strip().lower()


def _decoded_lines(source: _HashingReader) -> Iterator[str]:
    """Yield the file's lines as text; decoding line by line names the line of a bad byte."""
    for number, raw in enumerate(io.BufferedReader(source, 1 << 20), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableFile(number, Message("the file is not UTF-8 text")) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text


def _csv_rows(source: _HashingReader) -> Iterator[tuple[int, list]]:
    reader = csv.reader(_decoded_lines(source))
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UnreadableFile(reader.line_num, Message("the file is not valid CSV (%(error)s)", error=str(error))) from None
        first_line, line = line, reader.line_num + 1
        if any(cells):
            yield first_line, cells


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a bad workbook
        raise UnreadableFile(1, Message("the file is not a readable XLSX workbook")) from None
    try:
        sheet = book.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(cell is not None and cell != "" for cell in cells):
                yield line, list(cells)
    finally:
        book.close()
