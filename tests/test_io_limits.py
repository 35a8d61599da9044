"""Upload limits and unreadable input: one clear message naming the file, never a traceback,
never a long value echoed, and every row read still accounted for (issue 16)."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

from analytics.dataset import Dataset
from analytics.io import _long_line, load_sources, read_uploads
from analytics.limits import KB, MB, Limits, clip
from analytics.messages import render

EVENTS = "case_id,timestamp,activity\n" + "".join(
    f"C{i},2024-01-{1 + i % 28:02d} 10:00,step\n" for i in range(40)
)
SMALL = Limits(
    upload_bytes=4 * MB,
    unpacked_bytes=8 * MB,
    zip_members=5,
    zip_ratio=100,
    header_bytes=1 * KB,
    line_bytes=4 * KB,
)


def _load(files: list[tuple[str, bytes]], limits: Limits = SMALL) -> Dataset:
    dataset = load_sources(read_uploads(files, limits))
    for report in dataset.report.tables.values():  # rows read = loaded + quarantined
        assert report.rows_read == report.rows_loaded + report.rows_quarantined
    return dataset


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _patch(
    data: bytes, member: int, local: int | None, central: int, fmt: str, value: int
) -> bytes:
    """Overwrite a field of the ``member``-th local header (offset ``local``) and central
    directory entry (offset ``central``), as a damaged or hand-made archive has it."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[member]
    if local is not None:
        struct.pack_into(fmt, out, info.header_offset + local, value)
    entry = -1
    for _ in range(member + 1):
        entry = out.index(b"PK\x01\x02", entry + 1)
    struct.pack_into(fmt, out, entry + central, value)
    return bytes(out)


def _data_start(data: bytes, member: int) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[member]
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking():
    # 32 MB of zero bytes pack into ~32 KB (about 1,000x): the 509 KB zip of 500 MB
    # zeros in small. Refused on the directory's sizes, so it takes no time and no memory.
    bomb = _zip({"events.csv": bytes(32 * MB)})
    started = time.perf_counter()
    dataset = _load([("bomb.zip", bomb)])
    elapsed = time.perf_counter() - started
    (error, *_) = dataset.report.errors
    assert error.startswith("bomb.zip: events.csv unpacks 1,0")  # 32 MB / ~32 KB
    assert "over the 100x limit (set by CX_RADAR_MAX_ZIP_RATIO)" in error
    assert not dataset.report.usable and elapsed < 2.0


def test_a_small_member_is_never_refused_for_its_ratio():
    # 64 KB of one repeated row packs ~200x, but members under 1 MB cannot hurt.
    rows = "case_id,timestamp,activity\n" + "C1,2024-01-01 10:00,step\n" * 2600
    dataset = _load([("log.zip", _zip({"events.csv": rows.encode()}))])
    assert dataset.report.errors == () and dataset.events.height == 2600


def test_unpacked_size_member_count_and_upload_size_are_limited():
    # 1,057 bytes x 10,000 = 10,570,000 bytes = 10.08 MiB unpacked
    assert len(EVENTS) == 1057
    big = _zip({"a.csv": EVENTS.encode() * 10_000}, zipfile.ZIP_STORED)
    dataset = _load([("big.zip", big)], Limits(**{**SMALL.__dict__, "upload_bytes": 20 * MB}))
    assert dataset.report.errors[0].startswith("big.zip: unpacks to 10.1 MB, over the 8.0 MB")
    many = _zip({f"part{i}.csv": EVENTS.encode() for i in range(6)})
    assert _load([("many.zip", many)]).report.errors[0] == (
        "many.zip: 6 entries, over the limit of 5 (set by CX_RADAR_MAX_ZIP_MEMBERS); "
        "the archive is not opened"
    )
    upload = [("a.csv", b"x" * (3 * MB)), ("b.csv", b"y" * (2 * MB))]
    assert _load(upload).report.errors[0] == (
        "the upload is 5.0 MB, over the 4.0 MB limit (set by CX_RADAR_MAX_UPLOAD_MB); "
        "nothing was read"
    )


def test_the_unpacked_budget_is_shared_by_every_zip_of_one_upload():
    part = _zip({"events.csv": EVENTS.encode() * 6_000}, zipfile.ZIP_STORED)  # ~6.3 MB
    limits = Limits(**{**SMALL.__dict__, "upload_bytes": 20 * MB})
    errors = _load([("one.zip", part), ("two.zip", part)], limits).report.errors
    assert errors[0].startswith("two.zip: unpacks to 6.")  # one.zip fitted, two.zip did not


def test_an_archive_inside_an_archive_is_not_opened():
    inner = _zip({"events.csv": EVENTS.encode()})
    dataset = _load([("outer.zip", _zip({"inner.zip": inner, "events.csv": EVENTS.encode()}))])
    assert dataset.report.errors == (
        "outer.zip/inner.zip: an archive inside the archive outer.zip is not opened; unpack "
        "it and upload its files",
    )
    assert dataset.events.height == 40  # the rest of the archive is still read


def _stored_member_too_long(data: bytes) -> bytes:
    data = _patch(data, 0, None, 20, "<I", 100_000)  # compressed size
    return _patch(data, 0, None, 24, "<I", 100_000)  # uncompressed size


def _garbage_deflate(data: bytes) -> bytes:
    start = _data_start(data, 0)
    return data[:start] + b"\xff" * 8 + data[start + 8 :]


def _flipped_byte(data: bytes) -> bytes:
    start = _data_start(data, 0) + 5
    return data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1 :]


@pytest.mark.parametrize(
    ("damage", "method", "reason", "russian"),
    [
        # zipfile raises RuntimeError for an encrypted member, zlib.error for corrupt
        # deflate data, NotImplementedError for an unknown method, EOFError when the data
        # stops early, BadZipFile for a checksum mismatch: all were uncaught before.
        (
            lambda d: _patch(d, 0, 6, 8, "<H", 1),
            zipfile.ZIP_DEFLATED,
            "password-protected; save the archive without a password",
            "защищён паролем; сохраните архив без пароля",
        ),
        (
            _garbage_deflate,
            zipfile.ZIP_DEFLATED,
            "cannot be unpacked (damaged: the compressed data is corrupt)",
            "не распаковывается (повреждён: сжатые данные испорчены)",
        ),
        (
            lambda d: _patch(d, 0, 8, 10, "<H", 97),
            zipfile.ZIP_DEFLATED,
            "cannot be unpacked (packed with a compression method this reader does not "
            "support; re-save it as a standard zip (deflate))",
            "не распаковывается (сжат методом, который здесь не поддерживается; пересохраните "
            "архив как обычный zip (deflate))",
        ),
        (
            _stored_member_too_long,
            zipfile.ZIP_STORED,
            "cannot be unpacked (the archive ends before this file does; it was cut short)",
            "не распаковывается (архив обрывается раньше, чем этот файл: он обрезан)",
        ),
        (
            _flipped_byte,
            zipfile.ZIP_STORED,
            "cannot be unpacked (damaged: its checksum or headers do not match)",
            "не распаковывается (повреждён: не сходятся контрольная сумма или заголовки)",
        ),
    ],
    ids=["encrypted", "zlib-error", "unknown-method", "cut-short", "bad-crc"],
)
def test_a_damaged_member_is_named_and_the_others_are_read(damage, method, reason, russian):
    customers = "customer_id,segment\nK1,mass\n"
    archive = damage(
        _zip({"events.csv": EVENTS.encode(), "customers.csv": customers.encode()}, method)
    )
    dataset = _load([("export.zip", archive)])
    assert dataset.report.errors[0] == f"export.zip/events.csv: {reason}"
    # the app says the same in Russian (the reason is a message inside the message)
    assert render(dataset.report.errors[0], "ru") == f"export.zip/events.csv: {russian}"
    assert dataset.customers is not None and dataset.customers.height == 1


def test_not_a_zip_and_a_broken_directory():
    assert _load([("x.zip", b"PK\x03\x04 not really")]).report.errors[0] == (
        "x.zip: not a valid zip archive"
    )


def test_a_newline_free_file_is_not_a_header_and_is_not_echoed():
    # A newline-free file became one huge "header", and the message repeated it whole.
    dataset = _load(
        [("zeros.csv", bytes(2 * MB))], Limits(**{**SMALL.__dict__, "upload_bytes": 8 * MB})
    )
    assert dataset.report.errors[0] == (
        "zeros.csv: the first line is longer than 1.0 KB, so it is not a header row; expected "
        "a table with one record per line (the limit is set by CX_RADAR_MAX_HEADER_KB)"
    )
    assert max(len(e) for e in dataset.report.errors) < 300


def test_a_line_over_the_limit_is_refused_with_its_number():
    text = EVENTS + "C99,2024-01-02 10:00," + "x" * (5 * KB) + "\n" + "C100,2024-01-02 10:00,y\n"
    dataset = _load([("events.csv", text.encode())])
    assert dataset.report.errors[0] == (
        "events.csv: line 42 is longer than 4.0 KB; expected one record per line (the limit "
        "is set by CX_RADAR_MAX_LINE_KB)"
    )


def test_long_line_finder_agrees_with_splitting_the_lines():
    # The block search only measures around newline-free blocks; compare with the obvious way.
    for text in [b"", b"a\n", b"ab\n" * 10, b"a" * 9, b"a\n" + b"b" * 9 + b"\nc", b"a" * 8 + b"\n"]:
        for limit in (1, 2, 3, 4, 8, 9):
            lengths = [len(line) for line in text.split(b"\n")]
            over = [i + 1 for i, n in enumerate(lengths) if n > limit]
            assert _long_line(text, limit) == (over[0] if over else None), (text, limit)


def test_windows_1251_with_an_undefined_byte_is_read_with_a_warning():
    # 0x98 is the one byte Windows-1251 does not define: a strict decode raised.
    text = "case_id;timestamp;activity\nA1;01.02.2024 10:00;запрос\nA2;01.02.2024 11:00;ответ\n"
    data = text.encode("cp1251").replace("ответ".encode("cp1251"), b"\x98\x98") + b"\n"
    dataset = _load([("обращения.csv", data)])
    assert dataset.report.warnings[0] == (
        "обращения.csv: not UTF-8, read as Windows-1251; 2 byte(s) that Windows-1251 does not "
        "define were replaced with «�»"
    )
    assert dataset.events["activity"].to_list() == ["запрос", "��"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        (
            "currency = 'руб'".encode("cp1251"),
            "export.zip/settings.toml: not UTF-8 text (byte 0xf0 at position 12); save it as "
            "UTF-8. The default settings are used",
        ),
        (b"currency = = 'RUB'", "settings.toml: settings are not valid TOML"),
        (b"x" * (2 * MB), "export.zip/settings.toml: 2.0 MB is too large for a settings file"),
    ],
    ids=["not-utf8", "not-toml", "too-large"],
)
def test_a_bad_settings_file_is_one_message_and_defaults_are_used(settings, error):
    archive = _zip({"settings.toml": settings, "events.csv": EVENTS.encode()}, zipfile.ZIP_STORED)
    dataset = _load([("export.zip", archive)])
    assert dataset.report.errors[0].startswith(error)
    assert dataset.events.height == 40 and dataset.settings.currency == "RUB"


def test_long_names_are_cut_in_messages():
    name = "x" * 5000 + ".zip"
    (error,) = _load([(name, b"not a zip")]).report.errors[:1]
    assert len(error) < 300 and error.endswith("(5,004 characters): not a valid zip archive")
    assert clip("abc", 2) == "ab… (3 characters)" and clip("abc", 3) == "abc"


def test_refusals_read_in_russian_with_russian_numbers():
    # The same refusals in the app's Russian: sizes with a decimal comma and МБ/КБ, a ratio
    # grouped with a non-breaking space, counts agreeing with their noun.
    bomb = _load([("bomb.zip", _zip({"events.csv": bytes(32 * MB)}))]).report.errors[0]
    many = _zip({f"part{i}.csv": EVENTS.encode() for i in range(6)})
    nested = _zip({"inner.zip": _zip({"a.csv": b"x"}), "events.csv": EVENTS.encode()})
    settings = _zip({"settings.toml": "currency = 'руб'".encode("cp1251")})
    errors = [
        bomb,
        _load([("many.zip", many)]).report.errors[0],
        _load([("a.csv", b"x" * (3 * MB)), ("b.csv", b"y" * (2 * MB))]).report.errors[0],
        _load([("outer.zip", nested)]).report.errors[0],
        _load([("export.zip", settings)]).report.errors[0],
        _load([("zeros.csv", bytes(2 * KB))]).report.errors[0],
        _load([("x" * 250 + ".zip", b"PK")]).report.errors[0],
    ]
    nbsp = "\u00a0"
    # 32 MB of zeros deflate to 31.9 KB: 1,029x (the English above), 1 029 in Russian
    assert bomb.startswith("bomb.zip: events.csv unpacks 1,029x (31.9 KB to 32.0 MB)")
    assert [render(e, "ru") for e in errors] == [
        f"bomb.zip: events.csv при распаковке растёт в 1{nbsp}029 раз (31,9 КБ → 32,0 МБ), "
        "больше предела в 100 раз (его задаёт CX_RADAR_MAX_ZIP_RATIO); архив не открыт",
        "many.zip: 6 элементов, больше предела 5 (его задаёт CX_RADAR_MAX_ZIP_MEMBERS); "
        "архив не открыт",
        "загрузка занимает 5,0 МБ, больше предела 4,0 МБ (его задаёт CX_RADAR_MAX_UPLOAD_MB); "
        "ничего не прочитано",
        "outer.zip/inner.zip: архив внутри архива outer.zip не открывается; распакуйте его и "
        "загрузите его файлы",
        "export.zip/settings.toml: текст не в UTF-8 (байт 0xf0 в позиции 12); сохраните его в "
        "UTF-8. Используются настройки по умолчанию",
        "zeros.csv: первая строка длиннее 1,0 КБ, значит, это не строка заголовков; ожидалась "
        "таблица с одной записью на строку (предел задаёт CX_RADAR_MAX_HEADER_KB)",
        "x" * 200 + "… (254 символа): не читается как zip-архив",
    ]


def test_limits_come_from_the_environment_with_documented_defaults():
    assert Limits.from_env({}) == Limits()
    assert Limits() == Limits(1024 * MB, 2048 * MB, 1000, 100.0, 64 * KB, 1024 * KB)
    env = {
        "CX_RADAR_MAX_UPLOAD_MB": "10",
        "CX_RADAR_MAX_ZIP_RATIO": "50",
        "CX_RADAR_MAX_HEADER_KB": "2",
    }
    assert Limits.from_env(env) == Limits(upload_bytes=10 * MB, zip_ratio=50.0, header_bytes=2 * KB)
    with pytest.raises(
        ValueError, match="CX_RADAR_MAX_LINE_KB must be a positive number, not '-1'"
    ):
        Limits.from_env({"CX_RADAR_MAX_LINE_KB": "-1"})
    with pytest.raises(ValueError, match="CX_RADAR_MAX_ZIP_MEMBERS must be a positive number"):
        Limits.from_env({"CX_RADAR_MAX_ZIP_MEMBERS": "many"})


def test_a_workbook_is_checked_as_the_zip_it_is():
    bomb = _zip({"xl/worksheets/sheet1.xml": bytes(4 * MB)})
    (error, *_) = _load([("book.xlsx", bomb)]).report.errors
    assert error.startswith("book.xlsx: xl/worksheets/sheet1.xml unpacks ")
    assert "over the 100x limit" in error


# ---------------------------------------------------------------- in the app

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file


@pytest.fixture
def app(small_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    return AppTest.from_file(APP, default_timeout=120)


def test_the_sidebar_and_the_data_page_say_why_an_upload_is_unusable(app):
    # An encrypted zip and a non-UTF-8 settings file raised in the sidebar, before any page.
    encrypted = _patch(_zip({"events.csv": EVENTS.encode()}), 0, 6, 8, "<H", 1)
    app.session_state["uploads"] = (
        ("export.zip", encrypted),
        ("settings.toml", "currency = 'руб'".encode("cp1251")),
    )
    app.session_state["source"] = "upload"
    at = app.switch_page("app_pages/data.py").run()
    assert not at.exception
    assert any("no usable events" in w.value for w in at.sidebar.warning)
    (why,) = [c.value for c in at.sidebar.caption if c.value.startswith("Why:")]
    assert why.startswith("Why: export.zip/events.csv: password-protected")
    assert why.endswith("2 more reason(s) on the Data page.")  # settings, and no events
    (reasons,) = [e.value for e in at.error if e.value.startswith("The uploaded files")]
    assert "* settings.toml: not UTF-8 text (byte 0xf0 at position 12)" in reasons
    assert at.subheader[0].value.startswith("Loaded dataset: ")  # the sample, meanwhile


def test_the_reasons_an_upload_is_unusable_read_in_russian(app):
    encrypted = _patch(_zip({"events.csv": EVENTS.encode()}), 0, 6, 8, "<H", 1)
    app.session_state["uploads"] = (
        ("export.zip", encrypted),
        ("settings.toml", "currency = 'руб'".encode("cp1251")),
    )
    app.session_state["source"] = "upload"
    app.session_state["lang"] = "RU"
    at = app.switch_page("app_pages/data.py").run()
    assert not at.exception
    (why,) = [c.value for c in at.sidebar.caption if c.value.startswith("Причина:")]
    assert why.startswith("Причина: export.zip/events.csv: защищён паролем; сохраните архив")
    (reasons,) = [e.value for e in at.error if e.value.startswith("Загруженные файлы")]
    assert "* settings.toml: текст не в UTF-8 (байт 0xf0 в позиции 12)" in reasons
    assert "* не найдено ни одной таблицы: ожидались события" in reasons


def test_an_upload_that_fails_unexpectedly_is_an_error_not_a_traceback(app, monkeypatch):
    import analytics.io

    def broken(*args, **kwargs):
        raise MemoryError("out of memory while reading")

    monkeypatch.setattr(analytics.io, "read_uploads", broken)
    monkeypatch.setattr("dashboard.state.read_uploads", broken)
    app.session_state["uploads"] = (("events.csv", EVENTS.encode()),)
    app.session_state["source"] = "upload"
    at = app.switch_page("app_pages/data.py").run()
    assert not at.exception
    (why,) = [c.value for c in at.sidebar.caption if c.value.startswith("Why:")]
    assert why.startswith("Why: the upload could not be read (MemoryError: out of memory")
    from dashboard.state import _failure

    with pytest.raises(MemoryError) as caught:
        broken()
    assert render(_failure(caught.value), "ru") == (
        "загрузку не удалось прочитать (MemoryError: out of memory while reading)"
    )
