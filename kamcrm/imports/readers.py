"""Reading interchange files: CSV (UTF-8, a BOM accepted) or XLSX (the first sheet).

A reader gives the header and then ``(line, cells, problem)`` triples, where ``line`` is the
line an editor or a spreadsheet shows (the header is line 1; a CSV record spanning several
lines is numbered by its first). Blank rows are skipped. The raw bytes pass through a
SHA-256 so the import can name the exact file in the audit log.

Every file is read as if it were hostile, with bounded memory and time:

* the file is at most ``max_bytes`` (``IMPORT_MAX_BYTES``); a longer one raises ``FileTooLarge``
  as soon as its size is known;
* a workbook is a zip file: before any XML is parsed, its members' declared sizes and
  compression ratios are checked (a 385 KB file once expanded to 100 MB of XML), and the
  shared strings are scanned, without building them, for a text longer than any cell takes;
* a CSV line longer than ``MAX_LINE_BYTES`` stops the reading, and a cell longer than
  ``MAX_CELL_CHARS`` is that row's problem;
* a row is never widened to the sheet's dimension: only the cells present are looked at, and
  a value beyond the header's last column is the row's problem (a cell in column XFD once
  made every row 16,384 cells wide).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from typing import BinaryIO
from xml.parsers import expat

from kamcrm.errors import FileTooLarge, Message

#: File name endings the importer reads.
EXTENSIONS = (".csv", ".xlsx")
#: The longest text a cell may hold while it is read. Every field has a documented maximum
#: (``kamcrm.limits``, at most a few thousand characters) that the row's check reports;
#: this hard cap only stops a hostile file from making the reader build a huge string.
MAX_CELL_CHARS = 100_000
#: The longest physical CSV line: a whole row of the widest kind, every cell at its
#: maximum, is far shorter.
MAX_LINE_BYTES = 1 << 20
#: The most columns a header may name (every kind has fewer than 20).
MAX_HEADER_COLUMNS = 100
#: A workbook's members may expand to this much in all …
XLSX_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
#: … and a member larger than ``XLSX_RATIO_FROM_BYTES`` at most this many times its
#: compressed size (real sheets compress about 5 to 20 times).
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM_BYTES = 1024 * 1024
#: The longest run of a sheet's XML without a tag: a cell's text at ``MAX_CELL_CHARS``
#: characters of up to 4 bytes each.
XLSX_MAX_TEXT_BYTES = 4 * MAX_CELL_CHARS


class UnreadableFile(Exception):
    """The file cannot be read at all; ``line`` is where reading stopped."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def too_large(filename: str, max_bytes: int) -> FileTooLarge:
    """Return the error for a file over the size limit."""
    return FileTooLarge(
        Message(
            "%(filename)s is larger than the %(limit)s MB an import takes; split it into "
            "smaller files",
            filename=filename,
            limit=_megabytes(max_bytes),
        )
    )


def _grouped(number: int) -> str:
    return format(number, ",")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f}" if size >= 1024 * 1024 else f"{size / (1024 * 1024):,.2f}"


class _HashingReader(io.RawIOBase):
    """A raw binary stream that feeds every byte it reads to a SHA-256, up to ``max_bytes``."""

    def __init__(self, stream: BinaryIO, filename: str, max_bytes: int | None):
        self._stream = stream
        self._filename = filename
        self._max_bytes = max_bytes
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
        if self._max_bytes is not None and self.size > self._max_bytes:
            raise too_large(self._filename, self._max_bytes)
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _CountingReader:
    """A file-like view of a stream that counts the bytes read through it (a sheet's XML)."""

    def __init__(self, stream):
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data

    def close(self) -> None:
        self._stream.close()


class TableFile:
    """An open interchange file: ``header`` then ``rows(width)``; ``sha256``/``size`` once read.

    ``max_bytes`` (None: no limit) bounds the file's size.
    """

    def __init__(self, stream: BinaryIO, filename: str, *, max_bytes: int | None = None):
        self.filename = filename
        name = filename.lower()
        self._source = _HashingReader(stream, filename, max_bytes)
        self._book = None
        # Every CSV cell is text; a workbook's may be numbers or dates.
        self._longest = _longest_text if name.endswith(".xlsx") else _longest_csv_cell
        if name.endswith(".xlsx"):
            # A workbook is a zip file, read from its end: it has to be whole in memory.
            self._sheet, self._done, self._total = _open_sheet(self._source.read())
            self._book = self._sheet.parent
            self._parsed = _sheet_rows(self._sheet, self._done)
            self._done_bytes = lambda: self._done.count
        elif name.endswith(".csv"):
            self._total = None
            self._parsed = _csv_rows(self._source)
            self._done_bytes = lambda: self._source.size
        else:
            raise UnreadableFile(
                1, Message("'%(filename)s' is not a .csv or .xlsx file", filename=filename)
            )
        self.header: list[str] | None = None
        first = next(self._parsed, None)
        if first is not None:
            line, cells = first
            cells, extra = _bounded(cells, MAX_HEADER_COLUMNS)
            if extra:
                raise UnreadableFile(
                    line,
                    Message(
                        "the first line names more than %(limit)s columns", limit=MAX_HEADER_COLUMNS
                    ),
                )
            self.header = [_header_name(cell) for cell in cells]

    def rows(self, width: int) -> Iterator[tuple[int, list, Message | None]]:
        """Yield ``(line, cells, problem)`` for every non-blank row after the header.

        ``cells`` holds at most ``width`` values; ``problem`` is None, or what is wrong with
        the row as read: a value beyond the header's ``width`` columns, or a cell longer than
        ``MAX_CELL_CHARS``.
        """
        for line, cells in self._parsed:
            cells, extra = _bounded(cells, width)
            if extra:
                yield (
                    line,
                    cells,
                    Message(
                        "the row has %(cells)s cells but the header names only %(width)s columns",
                        cells=extra,
                        width=width,
                    ),
                )
                continue
            longest = self._longest(cells)
            if longest > MAX_CELL_CHARS:
                yield (
                    line,
                    cells,
                    Message(
                        "a cell holds %(length)s characters; no field takes more than %(limit)s",
                        length=_grouped(longest),
                        limit=_grouped(MAX_CELL_CHARS),
                    ),
                )
                continue
            yield line, cells, None

    def fraction_read(self, total_bytes: int | None) -> float | None:
        """Return how much of the file has been read (0 to 1), or None when unknown.

        ``total_bytes`` is the file's size when the caller knows it (a CSV's progress is its
        bytes read; a workbook's, the bytes of its sheet's XML parsed).
        """
        total = self._total if self._total is not None else total_bytes
        if not total:
            return None
        return min(1.0, self._done_bytes() / total)

    @property
    def sha256(self) -> str:
        return self._source.digest.hexdigest()

    @property
    def size(self) -> int:
        return self._source.size

    def close(self) -> None:
        """Release the workbook (a CSV has nothing to release)."""
        if self._book is not None:
            self._book.close()


def _longest_csv_cell(cells: list[str]) -> int:
    return max(map(len, cells), default=0)


def _longest_text(cells: list) -> int:
    return max((len(cell) for cell in cells if isinstance(cell, str)), default=0)


def _bounded(cells, width: int) -> tuple[list, int]:
    """Return the first ``width`` cells of a row, and 0, or the number of cells the row has
    when a value lies beyond them.

    ``cells`` is a CSV row's list, or a workbook row as ``{column: value}`` of the cells
    present (never widened to the sheet's dimension).
    """
    if isinstance(cells, dict):
        beyond = [
            column for column, value in cells.items() if column > width and value not in (None, "")
        ]
        if beyond:
            return [], max(beyond)
        row = [None] * width
        for column, value in cells.items():
            if column <= width:
                row[column - 1] = value
        return row, 0
    if len(cells) > width and any(cells[width:]):
        return cells[:width], len(cells)
    return cells[:width], 0


def _header_name(cell) -> str:
    if cell is None:
        return ""
    return str(cell).strip().lower()


def _decoded_lines(source: _HashingReader) -> Iterator[str]:
    """Yield the file's lines as text; decoding line by line names the line of a bad byte."""
    buffered = io.BufferedReader(source, 1 << 20)
    number = 0
    while True:
        raw = buffered.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise UnreadableFile(
                number,
                Message(
                    "the line is longer than %(limit)s MB; no row of an interchange "
                    "file is that long",
                    limit=_megabytes(MAX_LINE_BYTES),
                ),
            )
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
            raise UnreadableFile(
                reader.line_num, Message("the file is not valid CSV (%(error)s)", error=str(error))
            ) from None
        first_line, line = line, reader.line_num + 1
        if any(cells):
            yield first_line, cells


def _check_members(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose members expand beyond the limits, before anything is parsed.

    The sizes are those the zip declares; reading a member stops at its declared size (and
    fails its CRC check if the data goes on), so they cannot lie.
    """
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if total > XLSX_MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(
                1,
                Message(
                    "the workbook expands to more than %(limit)s MB of data; an import takes "
                    "less (save it as CSV, or split it)",
                    limit=_megabytes(XLSX_MAX_UNCOMPRESSED_BYTES),
                ),
            )
        if member.file_size > XLSX_RATIO_FROM_BYTES and member.file_size > XLSX_MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise UnreadableFile(
                1,
                Message(
                    "the workbook's part %(part)s expands %(ratio)s times; a real sheet "
                    "expands at most %(limit)s times, so the file is refused",
                    part=member.filename[:100],
                    ratio=_grouped(member.file_size // max(member.compress_size, 1)),
                    limit=XLSX_MAX_RATIO,
                ),
            )


def _check_shared_strings(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook holding a shared string longer than ``MAX_CELL_CHARS``.

    openpyxl builds every shared string when it opens a workbook; this scan counts their
    lengths as the XML streams by, so a 300 MB string is refused without being built.
    """
    for member in archive.infolist():
        if not member.filename.lower().endswith("sharedstrings.xml"):
            continue
        length = 0
        depth = 0  # inside an <si> (a shared string item)

        def start(name, attributes):
            nonlocal length, depth
            if name.rpartition(":")[2] == "si":
                depth += 1
                length = 0

        def end(name):
            nonlocal depth
            if name.rpartition(":")[2] == "si":
                depth -= 1

        def text(data):  # expat calls it while this very loop turn parses: the loop's own depth
            nonlocal length
            if depth:  # noqa: B023
                length += len(data)
                if length > MAX_CELL_CHARS:
                    raise UnreadableFile(
                        1,
                        Message(
                            "a text in the workbook is longer than %(limit)s characters; no "
                            "field takes that much",
                            limit=_grouped(MAX_CELL_CHARS),
                        ),
                    )

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = (
            start,
            end,
            text,
        )
        try:
            with archive.open(member) as stream:
                while chunk := stream.read(1 << 16):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError):
            raise UnreadableFile(1, Message("the file is not a readable XLSX workbook")) from None


def _check_text_runs(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a sheet whose XML holds a text too long for any cell, scanning it in chunks.

    A text is what lies between two tags; splitting each chunk at ``<`` finds the longest
    in C, without parsing (about 2 ms a megabyte), so a 300 MB inline string is refused
    before openpyxl would build it.
    """
    run = 0  # the bytes since the last "<", carried over chunk boundaries
    with archive.open(name) as stream:
        while chunk := stream.read(1 << 20):
            pieces = chunk.split(b"<")
            run += len(pieces[0])
            longest = max(run, max(map(len, pieces[1:]), default=0))
            if longest > XLSX_MAX_TEXT_BYTES:
                raise UnreadableFile(
                    1,
                    Message(
                        "a text in the workbook is longer than %(limit)s characters; no "
                        "field takes that much",
                        limit=_grouped(MAX_CELL_CHARS),
                    ),
                )
            if len(pieces) > 1:
                run = len(pieces[-1])


def _open_sheet(data: bytes):
    """Check a workbook's zip, open it read-only, and return its first sheet with a counter
    of its XML read so far and the XML's size."""
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFile(1, Message("the file is not a readable XLSX workbook")) from None
    with archive:
        _check_members(archive)
        _check_shared_strings(archive)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        total = book._archive.getinfo(sheet._worksheet_path).file_size
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a bad workbook
        raise UnreadableFile(1, Message("the file is not a readable XLSX workbook")) from None
    try:
        _check_text_runs(book._archive, sheet._worksheet_path)
    except (zipfile.BadZipFile, OSError, EOFError):
        book.close()
        raise UnreadableFile(1, Message("the file is not a readable XLSX workbook")) from None
    except UnreadableFile:
        book.close()
        raise
    return sheet, _CountingReader(book._archive.open(sheet._worksheet_path)), total


def _sheet_rows(sheet, source: _CountingReader) -> Iterator[tuple[int, dict]]:
    """Yield ``(line, {column: value})`` of each non-blank row, with only the cells present.

    This is openpyxl's own streaming parser (what its read-only rows use) without the step
    that widens every row to the sheet's declared dimension.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    book = sheet.parent
    parser = WorkSheetParser(
        source,
        sheet._shared_strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )
    try:
        for line, cells in parser.parse():
            values = {
                cell["column"]: cell["value"] for cell in cells if cell["value"] not in (None, "")
            }
            if values:
                yield line, values
    except UnreadableFile:
        raise
    except Exception:  # a sheet that breaks off or holds malformed XML
        raise UnreadableFile(
            parser.row_counter or 1, Message("the file is not a readable XLSX workbook")
        ) from None
    finally:
        source.close()
