import polars as pl

from analytics.export import excel_safe, to_csv_bytes, to_xlsx_bytes


def test_formula_cells_are_defused():
    frame = pl.DataFrame(
        {
            "text": ["=1+1", "+7", "-cmd", "@SUM(A1)", "plain", None, "-3", "-3,5", "-3+A1"],
            "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
        }
    )
    safe = excel_safe(frame)
    assert safe["text"].to_list() == [
        *("'=1+1", "'+7", "'-cmd", "'@SUM(A1)", "plain", None),
        *("-3", "-3,5", "'-3+A1"),  # a negative number is a value; with more, a formula
    ]
    assert safe["n"].to_list() == [-1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_csv_for_excel_has_bom_semicolons_and_decimal_comma():
    data = to_csv_bytes(pl.DataFrame({"a": [1.5], "b": ["=x"]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["a;b", "1,5;'=x"]


def test_xlsx_round_trip_keeps_text_as_text():
    book = to_xlsx_bytes({"rows": pl.DataFrame({"a": ["=2*3", "x"]})})
    back = pl.read_excel(book, sheet_name="rows")
    assert back["a"].to_list() == ["'=2*3", "x"]
