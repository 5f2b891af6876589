"""Spreadsheets in and out: CSV and XLSX read into rows (errors by row and column in plain
words), result files written, and templates whose columns are documented inside them.

Pure: no database, no web framework, no settings; the limits are arguments. Reading is bounded
before any parsing: the file's size, then (XLSX) the zip's entries and their uncompressed sizes
as the zip directory declares them and as they actually inflate, then rows and cell sizes.
openpyxl reads in ``read_only`` mode (it streams the sheet XML); Python's expat refuses entity
expansion attacks on its own.

The column specification (:class:`Columns`) is the one source of the header, of what each column
means, and of the template. Templates document their columns inside the file: an XLSX template
has a second sheet ``columns`` (name, required, description, example) and a comment on each
header cell; a CSV template has its header first and then one line per column starting with
``#`` (``# column: description``). The reader skips lines whose first cell starts with ``#``, so
a filled-in template is read as it is.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Cells a spreadsheet program would run as a formula (CSV injection): written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COMMENT_MARK = "#"


@dataclass(frozen=True)
class Column:
    """One column of a spreadsheet: its header, whether a value is required, what it means."""

    name: str
    description: str
    required: bool = False
    example: str = ""
    max_length: int | None = None


@dataclass(frozen=True)
class Columns:
    """The columns a spreadsheet of one kind has (a cohort of a course, say)."""

    columns: tuple[Column, ...]
    #: the first sheet's name in XLSX files
    sheet: str = "rows"

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column | None:
        wanted = _header_key(name)
        return next((c for c in self.columns if _header_key(c.name) == wanted), None)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_rows: int = 20_000
    max_cell_chars: int = 2_000
    #: XLSX: the sum of the zip's uncompressed entries, and how many entries it may have
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 1_000


@dataclass(frozen=True)
class CellError:
    """A fault in the file: ``row`` is the spreadsheet's row number (the header is row 1; 0 for
    the file as a whole), ``column`` the header's name (or "" for the whole row or file)."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]


@dataclass
class Table:
    """What a file held: its rows by column name, and every fault found, by row and column."""

    rows: list[Row] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)

    def errors_of(self, number: int) -> list[CellError]:
        return [error for error in self.errors if error.row == number]

    @property
    def file_errors(self) -> list[CellError]:
        """Faults of the file itself (bad format, bad header): no row can be trusted."""
        return [error for error in self.errors if error.row <= 1]


class SpreadsheetTooLarge(ValueError):
    """The file exceeds a limit: nothing was read."""


def detect_format(filename: str | None, content_type: str | None, data: bytes) -> str:
    """``xlsx`` or ``csv``: a zip file (``PK``) is XLSX, anything else is read as CSV text."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    return "csv"


def read(data: bytes, columns: Columns, limits: Limits | None = None) -> Table:
    """Read a CSV or XLSX file (told apart by content) into rows of ``columns``."""
    limits = limits or Limits()
    if len(data) > limits.max_file_bytes:
        raise SpreadsheetTooLarge(
            f"the file has {len(data):,} bytes; at most {limits.max_file_bytes:,} are accepted"
        )
    if detect_format(None, None, data) == "xlsx":
        return _table(_xlsx_lines(data, limits), columns, limits)
    return _table(_csv_lines(data), columns, limits)


class _FileFault(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileFault(
            f"the file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8 or as XLSX"
        ) from None
    if "\x00" in text:
        raise _FileFault("the file is not a CSV text file (it holds NUL bytes)")
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    except csv.Error as exc:
        raise _FileFault(f"the CSV text is malformed: {exc}") from None


def _delimiter(text: str) -> str:
    """The header line's most frequent of comma, semicolon (spreadsheet programs in locales
    with a decimal comma) and tab; comma when it has none."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith(COMMENT_MARK):
            counts = {mark: line.count(mark) for mark in (",", ";", "\t")}
            best = max(counts, key=lambda mark: counts[mark])
            return best if counts[best] else ","
    return ","


def _check_zip(data: bytes, limits: Limits) -> None:
    """Refuse a zip bomb before openpyxl inflates anything: declared sizes first, then the
    actual inflated size of each entry, read in bounded chunks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _FileFault("the file looks like XLSX but is not a readable zip archive") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise SpreadsheetTooLarge(f"the XLSX file has {len(entries):,} parts; too many")
        declared = sum(entry.file_size for entry in entries)
        if declared > limits.max_unzipped_bytes:
            raise SpreadsheetTooLarge(
                f"the XLSX file unpacks to {declared:,} bytes; "
                f"at most {limits.max_unzipped_bytes:,} are accepted"
            )
        inflated = 0
        for entry in entries:
            try:
                with archive.open(entry) as part:
                    while chunk := part.read(1024 * 1024):
                        inflated += len(chunk)
                        if inflated > limits.max_unzipped_bytes:
                            raise SpreadsheetTooLarge(
                                "the XLSX file unpacks to more than "
                                f"{limits.max_unzipped_bytes:,} bytes"
                            )
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                if isinstance(exc, SpreadsheetTooLarge):
                    raise
                raise _FileFault(f"the XLSX file is damaged ({entry.filename})") from None


def _xlsx_lines(data: bytes, limits: Limits) -> Iterator[list[str]]:
    import openpyxl  # ~0.1 s to import: only when an XLSX file comes

    _check_zip(data, limits)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _FileFault(f"the XLSX file cannot be read ({type(exc).__name__})") from None
    try:
        if not workbook.worksheets:
            raise _FileFault("the XLSX file has no sheet")
        sheet = workbook.worksheets[0]
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in values]
        except _FileFault:
            raise
        except Exception as exc:  # a malformed sheet part
            raise _FileFault(f"the XLSX sheet cannot be read ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """A cell as text: dates as ISO 8601, whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_key(name: str) -> str:
    return " ".join(name.strip().casefold().split())


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _table(lines: Iterator[list[str]], columns: Columns, limits: Limits) -> Table:
    table = Table()
    try:
        _fill(table, lines, columns, limits)
    except _FileFault as fault:
        table.rows.clear()
        table.errors.insert(0, CellError(0, "", fault.message))
    return table


def _fill(table: Table, lines: Iterator[list[str]], columns: Columns, limits: Limits) -> None:
    header: list[str] | None = None
    positions: dict[int, str] = {}
    for number, cells in enumerate(lines, start=1):
        if not any(cell.strip() for cell in cells):
            continue
        if cells[0].lstrip().startswith(COMMENT_MARK):
            continue
        if header is None:
            header = cells
            positions = _read_header(table, number, cells, columns)
            if table.errors:
                return
            continue
        if len(table.rows) >= limits.max_rows:
            table.errors.append(
                CellError(number, "", f"the file has more than {limits.max_rows:,} rows; split it")
            )
            return
        values = {name: "" for name in columns.names}
        for index, cell in enumerate(cells):
            name = positions.get(index)
            value = cell.strip()
            if name is None:
                if value:
                    table.errors.append(
                        CellError(
                            number,
                            _column_letter(index),
                            f"column {_column_letter(index)} has a value but no header",
                        )
                    )
                continue
            column = columns.column(name)
            assert column is not None
            limit = min(limits.max_cell_chars, column.max_length or limits.max_cell_chars)
            if len(value) > limit:
                table.errors.append(
                    CellError(number, name, f"{len(value):,} characters; at most {limit:,}")
                )
                value = ""
            values[name] = value
        for column in columns.columns:
            if column.required and not values[column.name]:
                table.errors.append(CellError(number, column.name, "a value is required"))
        table.rows.append(Row(number, values))
    if header is None:
        table.errors.append(CellError(0, "", "the file is empty: a header row is required"))
    elif not table.rows:
        table.errors.append(CellError(0, "", "the file has a header but no rows"))


def _read_header(table: Table, number: int, cells: list[str], columns: Columns) -> dict[int, str]:
    positions: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if not cell.strip():
            continue
        column = columns.column(cell)
        if column is None:
            table.errors.append(
                CellError(
                    number,
                    cell.strip()[:100],
                    f"unknown column {cell.strip()[:100]!r}; the columns are "
                    + ", ".join(columns.names),
                )
            )
        elif column.name in positions.values():
            table.errors.append(CellError(number, column.name, "the column appears twice"))
        else:
            positions[index] = column.name
    for column in columns.columns:
        if column.required and column.name not in positions.values():
            table.errors.append(CellError(number, column.name, "this required column is missing"))
    return positions


# Writing.


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheet programs then read accents right); a cell that
    would run as a formula is written with a leading apostrophe."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_safe(name) for name in header])
    for row in rows:
        writer.writerow([_safe(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "results"
) -> bytes:
    """One sheet; every cell is text (never a formula), streamed (``write_only``)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append([_text_cell(worksheet, name, WriteOnlyCell) for name in header])
    for row in rows:
        worksheet.append([_text_cell(worksheet, value, WriteOnlyCell) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _text_cell(worksheet: Any, value: Any, cell_type: Any) -> Any:
    cell = cell_type(worksheet, value="" if value is None else str(value))
    # Text, explicitly: openpyxl takes a value starting with "=" for a formula.
    cell.data_type = "s"
    return cell


def template_csv(columns: Columns) -> bytes:
    """The header, then one ``#`` line per column saying what it holds."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns.names)
    for column in columns.columns:
        writer.writerow([f"{COMMENT_MARK} {column.name}: {_documentation(column)}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(columns: Columns) -> bytes:
    """A sheet with the header (each header cell carries its column's note) and a second sheet
    ``columns`` documenting each column."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = columns.sheet
    for index, column in enumerate(columns.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = Font(bold=True)
        cell.comment = Comment(_documentation(column), "microcred", width=300, height=120)
        sheet.column_dimensions[_column_letter(index - 1)].width = max(14, len(column.name) + 4)
    guide = workbook.create_sheet("columns")
    guide.append(["column", "required", "description", "example"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in columns.columns:
        guide.append(
            [column.name, "yes" if column.required else "no", column.description, column.example]
        )
        for cell in guide[guide.max_row]:
            cell.data_type = "s"
    guide.column_dimensions["C"].width = 80
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _documentation(column: Column) -> str:
    parts = [("required. " if column.required else "optional. ") + column.description]
    if column.example:
        parts.append(f"Example: {column.example}")
    return " ".join(parts)
