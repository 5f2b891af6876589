"""Spreadsheets: CSV and XLSX read into rows with errors by row and column, bounded, and
templates and result files that read back."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from app.services.spreadsheets import (
    Column,
    Columns,
    Limits,
    SpreadsheetTooLarge,
    read,
    template_csv,
    template_xlsx,
    write_csv,
    write_xlsx,
)

COLUMNS = Columns(
    (
        Column("identifier", "The student number", required=True, example="S1234567"),
        Column("given name", "Given name(s)", required=True, example="Aoife"),
        Column("awarded on", "Date of the award, YYYY-MM-DD", example="2026-06-30"),
    ),
    sheet="cohort",
)


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_csv_rows_by_column_name_with_errors_naming_row_and_column() -> None:
    data = (
        "Identifier;Given Name;awarded on\nS1;Aoife;2026-06-30\n;Seán;\n\nS3;Zoë;2026-07-01;extra\n"
    ).encode()
    table = read(data, COLUMNS)
    assert [row.number for row in table.rows] == [2, 3, 5]
    assert table.rows[0].values == {
        "identifier": "S1",
        "given name": "Aoife",
        "awarded on": "2026-06-30",
    }
    assert table.rows[1].values["given name"] == "Seán"
    assert [(e.row, e.column, e.message) for e in table.errors] == [
        (3, "identifier", "a value is required"),
        (5, "D", "column D has a value but no header"),
    ]
    assert table.errors_of(2) == []


def test_xlsx_cells_become_text_dates_iso_numbers_without_fraction() -> None:
    from datetime import datetime

    data = xlsx(
        [
            ["identifier", "given name", "awarded on"],
            [1234567, "Aoife", datetime(2026, 6, 30)],
            ["S2", None, None],
        ]
    )
    table = read(data, COLUMNS)
    assert table.rows[0].values == {
        "identifier": "1234567",
        "given name": "Aoife",
        "awarded on": "2026-06-30",
    }
    assert [(e.row, e.column) for e in table.errors] == [(3, "given name")]


def test_header_faults_are_reported_and_no_row_is_read() -> None:
    table = read(b"identifier,surname,identifier\nS1,x,y\n", COLUMNS)
    assert table.rows == []
    messages = {(e.row, e.column): e.message for e in table.errors}
    assert messages[(1, "surname")].startswith("unknown column 'surname'")
    assert messages[(1, "identifier")] == "the column appears twice"
    assert messages[(1, "given name")] == "this required column is missing"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: a header row is required"),
        (b"identifier,given name\n", "the file has a header but no rows"),
        ("identifier\nS\xe9".encode("latin-1"), "the file is not UTF-8 text (byte 13)"),
        (b"PK\x03\x04 not really a zip", "not a readable zip archive"),
        (b"identifier\x00,x\n", "NUL bytes"),
    ],
)
def test_malformed_files_answer_one_plain_error(data: bytes, message: str) -> None:
    table = read(data, COLUMNS)
    assert table.rows == []
    assert len(table.file_errors) == 1
    assert message in table.file_errors[0].message
    assert table.file_errors[0].row == 0


def test_an_xlsx_missing_its_workbook_part_is_an_error_not_an_exception() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    table = read(out.getvalue(), COLUMNS)
    assert table.rows == []
    assert "cannot be read" in table.file_errors[0].message


def test_limits_on_file_size_rows_cells_and_unpacked_size() -> None:
    with pytest.raises(SpreadsheetTooLarge, match="bytes; at most 100"):
        read(b"x" * 101, COLUMNS, Limits(max_file_bytes=100))
    many = "identifier,given name\n" + "S,A\n" * 11
    table = read(many.encode(), COLUMNS, Limits(max_rows=10))
    assert table.errors[-1].message == "the file has more than 10 rows; split it"
    long = read(
        b"identifier,given name\nS," + b"a" * 50 + b"\n", COLUMNS, Limits(max_cell_chars=20)
    )
    assert [(e.row, e.column, e.message) for e in long.errors] == [
        (2, "given name", "50 characters; at most 20"),
        (2, "given name", "a value is required"),
    ]
    # A zip bomb: a sheet of zeros that deflates ~1000:1; refused before openpyxl opens it.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    assert len(bomb.getvalue()) < 20_000
    with pytest.raises(SpreadsheetTooLarge, match="unpacks to"):
        read(bomb.getvalue(), COLUMNS, Limits(max_unzipped_bytes=1_000_000))


def test_a_zip_whose_directory_understates_its_size_is_refused_as_damaged() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 3_000_000)
    data = bytearray(bomb.getvalue())
    # Rewrite the declared uncompressed size (central directory, offset 24) to 10 bytes.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    # zipfile stops at the declared size and then finds the CRC wrong: read as damaged.
    table = read(bytes(data), COLUMNS, Limits(max_unzipped_bytes=1_000_000))
    assert table.rows == []
    assert table.file_errors[0].message == "the XLSX file is damaged (xl/worksheets/sheet1.xml)"


def test_templates_document_their_columns_and_read_back_empty() -> None:
    csv_template = template_csv(COLUMNS)
    text = csv_template.decode("utf-8-sig")
    assert text.splitlines()[0] == "identifier,given name,awarded on"
    assert "# identifier: required. The student number Example: S1234567" in text
    filled = csv_template + b"S9,Aoife,2026-06-30\r\n"
    table = read(filled, COLUMNS)
    assert table.errors == []
    assert [row.values["identifier"] for row in table.rows] == ["S9"]

    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx(COLUMNS)))
    sheet = workbook["cohort"]
    assert [cell.value for cell in sheet[1]] == COLUMNS.names
    assert sheet["A1"].comment is not None
    assert "The student number" in sheet["A1"].comment.text
    guide = [[cell.value for cell in row] for row in workbook["columns"].iter_rows()]
    assert guide[0] == ["column", "required", "description", "example"]
    assert guide[1] == ["identifier", "yes", "The student number", "S1234567"]
    assert guide[3][1] == "no"


def test_result_files_keep_formulas_as_text() -> None:
    header = ["row", "name"]
    rows = [["2", '=HYPERLINK("http://evil")'], ["3", "Zoë"]]
    csv_bytes = write_csv(header, rows)
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert "'=HYPERLINK" in csv_bytes.decode("utf-8-sig")
    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(header, rows)))
    sheet = workbook.worksheets[0]
    assert sheet["B2"].data_type == "s"
    assert sheet["B2"].value == '=HYPERLINK("http://evil")'
    assert sheet["B3"].value == "Zoë"
