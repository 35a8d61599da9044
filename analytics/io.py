"""Reading company exports into a :class:`~analytics.dataset.Dataset`.

Input: a folder, a zip, a single file, or uploaded ``(name, bytes)`` pairs; CSV (UTF-8 or
Windows-1251, ``,`` ``;`` or tab separated), Parquet, Excel ``.xlsx`` (every sheet).
Each file is assigned to a canonical table by its columns (and its name where the
columns fit several tables), mapped onto canonical names, typed, and validated.

Every row read is accounted for: it is loaded, or quarantined with a reason. A file that
cannot be used at all becomes one error in the report naming the file, the column and
what was expected; nothing here raises on bad data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import reduce
from pathlib import Path

import polars as pl

from analytics.calls import call_events, report_for
from analytics.dataset import Dataset, LoadReport, TableReport
from analytics.limits import RATIO_EXEMPT_BYTES, Limits, clip, megabytes, variable
from analytics.mapping import Mapping, header_seconds_factor, normalize_header, suggest
from analytics.messages import Message, message_of
from analytics.parsing import (
    DateFormat,
    TextTraits,
    output_dtype,
    parse_number,
    reject_checks,
    settle_text_columns,
    typed_expr,
)
from analytics.schema import TABLES, Kind, Settings, Table

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
READABLE = CSV_SUFFIXES | PARQUET_SUFFIXES | EXCEL_SUFFIXES | {".zip"}
SETTINGS_FILE = "settings.toml"
MAPPING_FILE = "mapping.toml"  # used when no mapping is given, as a saved one would be
DOCUMENTATION_SUFFIXES = {".md"}  # a README beside the exports is not data: no warning
FOUND_CHARS = 300  # the headers a message lists when a file lacks a column


class UnreadableFile(ValueError):
    """A file that cannot be read at all; the message names the file and the problem."""

    @property
    def message(self) -> str:
        """The message as raised (:func:`~analytics.messages.message_of`): ``str(exc)``
        would give a :class:`~analytics.messages.Message`'s English only."""
        return message_of(self)


class NotUtf8(UnreadableFile):
    """Raised mid-scan when a file that began as UTF-8 turns out not to be."""


@dataclass(frozen=True)
class Source:
    """One raw table (a file or an Excel sheet) before mapping: in memory, or a path that
    is scanned lazily so a large export is never held as text."""

    name: str
    digest: str
    frame: pl.DataFrame | None = None
    path: Path | None = None
    separator: str = ","
    warnings: tuple[str, ...] = ()  # read warnings (e.g. undecodable bytes replaced)

    def lazy(self) -> pl.LazyFrame:
        if self.frame is not None:
            return self.frame.lazy()
        assert self.path is not None
        if self.path.suffix.lower() in PARQUET_SUFFIXES:
            return pl.scan_parquet(self.path)
        return pl.scan_csv(
            self.path,
            separator=self.separator,
            infer_schema=False,
            encoding="utf8",
            with_column_names=lambda names: [n.strip() for n in names],
        )

    @property
    def columns(self) -> list[str]:
        return self.lazy().collect_schema().names()


@dataclass(frozen=True)
class Sources:
    """Everything read from the input: raw tables, files that failed, settings found."""

    items: tuple[Source, ...]
    errors: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    settings_text: str | None = None
    mapping_text: str | None = None  # a mapping.toml beside the exports


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (";", ",", "\t", "|")}
    return max(counts, key=lambda s: counts[s])


def _head(name: str, head: bytes, limits: Limits) -> tuple[bool, str]:
    """Whether a file's first bytes are UTF-8, and its header line's separator.

    ``head`` is the file's first :func:`_head_size` bytes. The header line must end within
    ``limits.header_bytes``: a file without line breaks (500 MB of zero bytes) is not a
    table, and its "header" is never parsed or quoted.
    """
    if head.find(b"\n", 0, limits.header_bytes + 1) < 0 and len(head) > limits.header_bytes:
        raise UnreadableFile(
            Message(
                "read.header_long",
                name=name,
                limit=megabytes(limits.header_bytes),
                variable=variable("header_bytes"),
            )
        )
    try:
        text = head.decode("utf-8-sig")
        utf8 = True
    except UnicodeDecodeError as exc:
        utf8 = exc.start >= len(head) - 4  # a multi-byte character cut by the head
        text = (
            head[: exc.start].decode("utf-8-sig")
            if utf8
            else head.decode("cp1251", errors="replace")
        )
    first_line = text.splitlines()[0] if text.strip() else ""
    if not first_line:
        raise UnreadableFile(Message("read.empty", name=name))
    return utf8, _separator(first_line)


def _head_size(limits: Limits) -> int:
    return max(65536, limits.header_bytes + 1)


def _long_line(data: bytes, limit: int) -> int | None:
    """The number of the first line longer than ``limit`` bytes, or ``None``.

    A line longer than ``limit`` covers at least one whole block of ``limit // 2`` bytes,
    so only blocks without a line break (found at memchr speed) are measured exactly.
    """
    block = max(limit // 2, 1)
    start = 0
    while start + block <= len(data):
        if data.find(b"\n", start, start + block) >= 0:
            start += block
            continue
        first = data.rfind(b"\n", 0, start) + 1
        end = data.find(b"\n", start + block)
        end = len(data) if end < 0 else end
        if end - first > limit:
            return data.count(b"\n", 0, first) + 1
        start = end + 1
    return None


def read_csv(
    name: str, data: bytes, limits: Limits | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Read a CSV export as text columns; UTF-8 (with or without BOM) or Windows-1251.

    Returns the table and its warnings (bytes Windows-1251 does not define, replaced).
    Raises :class:`UnreadableFile` for an empty file, a header or line over the limits,
    or a table Polars cannot parse.
    """
    limits = limits or Limits.from_env()
    utf8, separator = _head(name, data[: _head_size(limits)], limits)
    line = _long_line(data, limits.line_bytes)
    if line is not None:
        raise UnreadableFile(
            Message(
                "read.line_long",
                name=name,
                line=line,
                limit=megabytes(limits.line_bytes),
                variable=variable("line_bytes"),
            )
        )
    warnings: tuple[str, ...] = ()
    if not utf8:
        data, warnings = _from_cp1251(name, data)
    try:
        frame = _parse_csv(name, data, separator)
    except NotUtf8:  # UTF-8 at the start, another encoding further on
        if not utf8:
            raise
        data, warnings = _from_cp1251(name, data)
        frame = _parse_csv(name, data, separator)
    return frame.rename({c: c.strip() for c in frame.columns}), warnings


def _parse_csv(name: str, data: bytes, separator: str) -> pl.DataFrame:
    try:
        return pl.read_csv(data, separator=separator, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise _csv_error(name, exc) from exc


def _from_cp1251(name: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Bytes that are not UTF-8, decoded as Windows-1251 into UTF-8. Its one undefined
    byte (0x98) becomes «�», and a warning counts the replaced characters."""
    replaced = data.count(b"\x98")
    text = data.decode("cp1251", errors="replace").encode("utf-8")
    if not replaced:
        return text, ()
    return text, (Message("load.cp1251_replaced", name=name, n=replaced),)


def _csv_error(name: str, exc: BaseException) -> UnreadableFile:
    detail = _first_line(exc)
    if "utf-8" in detail.lower() or "utf8" in detail.lower():
        return NotUtf8(Message("load.mixed_encoding", name=name))
    if "more fields" in detail:
        detail = Message("load.more_fields")
    return UnreadableFile(Message("load.not_csv", name=name, detail=detail))


def _first_line(exc: BaseException) -> str:
    """An exception's first line, cut for a message (Polars may quote a whole value)."""
    text = str(exc).strip()
    return clip(text.splitlines()[0]) if text else type(exc).__name__


def read_bytes(name: str, data: bytes, limits: Limits | None = None) -> list[Source]:
    """Read one uploaded or archived file into raw tables (an Excel book gives one per sheet).

    Raises :class:`UnreadableFile`, naming the file, for anything that cannot be read.
    """
    limits = limits or Limits.from_env()
    suffix = Path(name).suffix.lower()
    try:
        # The digest after the checks: a file refused for its first line costs no pass.
        if suffix in CSV_SUFFIXES:
            frame, warnings = read_csv(name, data, limits)
            return [Source(name, _digest(data), frame=frame, warnings=warnings)]
        if suffix in PARQUET_SUFFIXES:
            return [Source(name, _digest(data), frame=pl.read_parquet(io.BytesIO(data)))]
        if suffix in EXCEL_SUFFIXES:
            # A workbook is a zip: the same limits, checked before calamine unpacks it.
            # Not a zip at all: calamine says what it is.
            with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(data)) as book:
                _check_archive(name, book.infolist(), limits, limits.unpacked_bytes)
            sheets = pl.read_excel(data, sheet_id=0, raise_if_empty=False)
            digest = _digest(data)
            return [
                Source(f"{name}:{sheet}", f"{digest}:{sheet}", frame=frame)
                for sheet, frame in sheets.items()
                if frame.width > 0
            ]
    except UnreadableFile:
        raise
    except (Exception, pl.exceptions.PanicException) as exc:  # corrupt: a message, no traceback
        raise UnreadableFile(
            Message("read.unreadable", name=name, kind=suffix[1:], detail=_first_line(exc))
        ) from exc
    raise UnreadableFile(Message("read.unsupported", name=name))


def read_uploads(files: Iterable[tuple[str, bytes]], limits: Limits | None = None) -> Sources:
    """Read uploaded ``(name, bytes)`` pairs; zips are opened, ``settings.toml`` is kept.

    Bounded by ``limits`` (default :meth:`Limits.from_env`): an upload over the total size
    is refused whole; a zip or file over a limit becomes one error naming it.
    """
    limits = limits or Limits.from_env()
    files = list(files)
    total = sum(len(data) for _, data in files)
    if total > limits.upload_bytes:
        return Sources(
            (),
            (
                Message(
                    "read.too_large",
                    size=megabytes(total),
                    limit=megabytes(limits.upload_bytes),
                    variable=variable("upload_bytes"),
                ),
            ),
        )
    return _read_files(files, limits, _Budget(limits.unpacked_bytes))


@dataclass
class _Budget:
    """What one read may still unpack from zips, shared by every zip in it."""

    unpacked_bytes: int


def _read_files(
    files: list[tuple[str, bytes]], limits: Limits, budget: _Budget, archive: str | None = None
) -> Sources:
    items: list[Source] = []
    errors: list[str] = []
    skipped: list[str] = []
    settings_text: str | None = None
    mapping_text: str | None = None
    for name, data in files:
        suffix = Path(name).suffix.lower()
        if Path(name).name.lower() == SETTINGS_FILE:
            try:
                settings_text = _settings_text(name, data)
            except UnreadableFile as exc:
                errors.append(exc.message)
            continue
        if Path(name).name.lower() == MAPPING_FILE:
            try:
                mapping_text = _settings_text(name, data, "mapping")
            except UnreadableFile as exc:
                errors.append(exc.message)
            continue
        if suffix == ".zip" and archive is not None:
            errors.append(Message("read.nested_zip", name=clip(name), archive=clip(archive)))
            continue
        if suffix == ".zip":
            try:
                inner, inner_errors = _zip_members(name, data, limits, budget)
            except UnreadableFile as exc:
                errors.append(exc.message)
                continue
            nested = _read_files(inner, limits, budget, archive=name)
            items.extend(nested.items)
            errors.extend([*inner_errors, *nested.errors])
            skipped.extend(nested.skipped)
            settings_text = nested.settings_text or settings_text
            mapping_text = nested.mapping_text or mapping_text
            continue
        if suffix in DOCUMENTATION_SUFFIXES:
            continue
        if suffix not in READABLE:
            skipped.append(clip(name))
            continue
        try:
            items.extend(read_bytes(name, data, limits))
        except UnreadableFile as exc:
            errors.append(exc.message)
    return Sources(tuple(items), tuple(errors), tuple(skipped), settings_text, mapping_text)


SETTINGS_BYTES = 1024 * 1024  # settings are a few hundred bytes; more is not a settings file


def _settings_text(name: str, data: bytes, what: str = "settings") -> str:
    """The text of a ``settings.toml`` or ``mapping.toml`` (``what``), or a clear refusal."""
    if len(data) > SETTINGS_BYTES:
        raise UnreadableFile(
            Message(f"read.{what}_large", name=clip(name), size=megabytes(len(data)))
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = f"{data[exc.start]:02x}"
        raise UnreadableFile(
            Message(f"read.{what}_not_utf8", name=clip(name), byte=byte, position=exc.start)
        ) from exc


def _zip_members(
    name: str, data: bytes, limits: Limits, budget: _Budget
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The files in a zip and one error per member that cannot be unpacked.

    The limits are checked on the archive's directory before anything is unpacked; a zip
    over one is refused whole. Hidden files and folders are left out.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(Message("read.bad_zip", name=clip(name))) from exc
    except Exception as exc:  # a directory too broken to parse
        detail = _first_line(exc)
        raise UnreadableFile(
            Message("read.bad_zip_detail", name=clip(name), detail=detail)
        ) from exc
    with archive:
        infos = archive.infolist()
        members = [i for i in infos if not i.is_dir() and not Path(i.filename).name.startswith(".")]
        _check_archive(name, infos, limits, budget.unpacked_bytes)
        out: list[tuple[str, bytes]] = []
        errors: list[str] = []
        for info in members:
            member = f"{name}/{clip(info.filename, 255)}"  # no file system allows longer
            if info.flag_bits & 0x1:
                errors.append(Message("read.password", name=clip(member)))
                continue
            try:
                with archive.open(info) as handle:  # never yields more than the directory says
                    payload = handle.read(info.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:
                damage = next(v for k, v in _ZIP_DAMAGE.items() if isinstance(exc, k))
                reason = Message(f"read.damage.{damage}")
                errors.append(Message("read.not_unpacked", name=clip(member), reason=reason))
                continue
            except (RuntimeError, OSError, ValueError) as exc:  # e.g. other encryption schemes
                reason = _first_line(exc)
                errors.append(Message("read.not_unpacked", name=clip(member), reason=reason))
                continue
            budget.unpacked_bytes -= len(payload)
            out.append((member, payload))
    return out, errors


# What each exception of an unpacking member means (keys of ``[read.damage]``).
_ZIP_DAMAGE = {
    zipfile.BadZipFile: "checksum",
    zlib.error: "corrupt",
    NotImplementedError: "method",
    EOFError: "truncated",
}


def _check_archive(
    name: str, infos: list[zipfile.ZipInfo], limits: Limits, unpacked_left: int
) -> None:
    """Refuse a zip (or workbook) over the member count, total unpacked size or ratio."""
    if len(infos) > limits.zip_members:
        raise UnreadableFile(
            Message(
                "read.zip_members",
                name=clip(name),
                n=len(infos),
                limit=limits.zip_members,
                variable=variable("zip_members"),
            )
        )
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > RATIO_EXEMPT_BYTES and ratio > limits.zip_ratio:
            raise UnreadableFile(
                Message(
                    "read.zip_ratio",
                    name=clip(name),
                    member=clip(i.filename),
                    ratio=ratio,
                    packed=megabytes(i.compress_size),
                    size=megabytes(i.file_size),
                    limit=limits.zip_ratio,
                    variable=variable("zip_ratio"),
                )
            )
    unpacked = sum(i.file_size for i in infos)
    if unpacked > unpacked_left:
        raise UnreadableFile(
            Message(
                "read.zip_unpacked",
                name=clip(name),
                size=megabytes(unpacked),
                limit=megabytes(limits.unpacked_bytes),
                variable=variable("unpacked_bytes"),
            )
        )


def read_path(path: str | Path, limits: Limits | None = None) -> Sources:
    """Read a folder (its files, not sub-folders), a zip, or a single file.

    UTF-8 CSV and Parquet files are scanned lazily from disk (only the header limit applies:
    they are the operator's files and never held in memory); everything else is read into
    memory as an upload would be, under the same limits except the upload's total size.
    """
    limits = limits or Limits.from_env()
    path = Path(path)
    if not path.exists():
        return Sources((), (Message("read.no_path", path=str(path)),))
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if path.is_dir()
        else [path]
    )
    scanned: list[Source] = []
    errors: list[str] = []
    in_memory: list[Path] = []
    for file in files:
        try:
            source = _scan(file, limits)
        except UnreadableFile as exc:
            errors.append(exc.message)
            continue
        if source is None:
            in_memory.append(file)
        else:
            scanned.append(source)
    rest = _read_files(
        [(p.name, p.read_bytes()) for p in in_memory], limits, _Budget(limits.unpacked_bytes)
    )
    return Sources(
        (*scanned, *rest.items),
        (*errors, *rest.errors),
        rest.skipped,
        rest.settings_text,
        rest.mapping_text,
    )


def _scan(file: Path, limits: Limits) -> Source | None:
    """A lazily scanned source for UTF-8 CSV and Parquet files, else ``None``."""
    suffix = file.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        return None
    with file.open("rb") as handle:
        digest = hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
    if suffix in PARQUET_SUFFIXES:
        source = Source(file.name, digest, path=file)
        try:
            source.lazy().collect_schema()
        except (Exception, pl.exceptions.PanicException) as exc:  # not Parquet: one message
            detail = _first_line(exc)
            raise UnreadableFile(
                Message("read.unreadable", name=file.name, kind="parquet", detail=detail)
            ) from exc
        return source
    with file.open("rb") as handle:
        utf8, separator = _head(file.name, handle.read(_head_size(limits)), limits)
    return Source(file.name, digest, path=file, separator=separator) if utf8 else None


def assign_table(source: Source, mapping: Mapping) -> str | None:
    """The canonical table a raw table fits best, or ``None`` when it fits none.

    A ``[files]`` entry of the mapping decides first. Otherwise every table with at least
    one required column found is a candidate, scored by the share of its columns found
    (required ones count double) plus the share of the file's headers it explains; a
    file-name hint decides between candidates within 0.05 of the best. The best fit is
    returned even when it lacks a required column, so that the file is reported against
    the table it resembles ("as calls it lacks wait_s"), never silently loaded as another.
    """
    forced = mapping.table_of(source.name)
    if forced is not None:
        return forced
    headers = source.columns
    stem = Path(source.name.split(":")[0]).stem.lower()
    scores: dict[str, float] = {}
    for table in TABLES.values():
        found = mapping.resolve(headers, table)
        if not any(c in found for c in table.required_names):
            continue
        weight = sum(2 if c.required else 1 for c in table.columns)
        got = sum(2 if c.required else 1 for c in table.columns if c.name in found)
        explained = len({h for h in found.values() if h in headers}) / max(len(headers), 1)
        scores[table.name] = got / weight + explained
    if not scores:
        return None
    best = max(scores.values())
    close = [t for t in TABLES if t in scores and scores[t] >= best - 0.05]
    hinted = [t for t in close if any(h in stem for h in TABLES[t].file_hints)]
    return max(hinted or close, key=lambda t: scores[t])


@dataclass(frozen=True)
class _Checked:
    loaded: pl.DataFrame
    quarantine: pl.DataFrame
    mapping: dict[str, str]
    date_formats: dict[str, str]
    warnings: tuple[str, ...]
    ambiguous_dates: bool
    reasons: tuple[str, ...]  # every reason a row could be quarantined for (messages)


def check_source(source: Source, table: Table, mapping: Mapping, settings: Settings) -> _Checked:
    """Map, type and validate one raw table. Raises :class:`UnreadableFile` when unusable.

    One streaming pass types every column and records, per row, the number of the first
    rule it breaks (0: none); only the rejected rows are read again as raw text for the
    quarantine, so a large export is never held in memory as text.
    """
    headers = source.columns
    mapping, joined = _join_split_dates(source, table, mapping)
    chosen = mapping.resolve(headers, table)
    missing = [c for c in table.required_names if c not in chosen]
    if missing:
        col = table.column(missing[0])
        examples = ", ".join(f"«{s}»" for s in col.synonyms[:4])
        meaning = Message(f"meaning.{table.name}.{col.name}")
        raise UnreadableFile(
            Message(
                "load.lacks",
                name=source.name,
                table=table.name,
                column=col.name,
                meaning=meaning,
                examples=examples,
                found=clip(", ".join(headers), FOUND_CHARS),
            )
        )
    lf = mapping.prepare(source.lazy(), table)
    schema = lf.collect_schema()
    mapped = [(col, chosen[col.name]) for col in table.columns if col.name in chosen]
    # a snapshot's other columns (contract, tenure, charges...) are the customers' attributes
    extras = [h for h in headers if h not in chosen.values() and h not in table.names]
    extras = extras if table.name == "customers" else []
    used = {h for _, h in mapped} | set(extras)
    lf = _blank_markers(lf, {h for h in used if schema[h] == pl.String}, mapping)
    text = {h: c for c, h in mapped if schema[h] == pl.String and c.kind != Kind.STR}
    try:
        traits = settle_text_columns(lf, text, mapping.date_order.get(table.name))
    except pl.exceptions.PolarsError as exc:
        raise _csv_error(source.name, exc) from exc
    values: dict[str, pl.Expr] = {}
    checks: list[tuple[pl.Expr, str]] = []
    date_formats: dict[str, str] = {}
    warnings: list[str] = [
        Message("load.joined", name=source.name, date=d, time=t, column=f"{table.name}.{c}")
        for c, (d, t) in joined.items()
    ]
    for col, header in mapped:
        raw, dtype = pl.col(header), schema[header]
        trait = traits.get(header, TextTraits())
        fmt: DateFormat | None = trait.date
        if fmt is not None:
            date_formats[col.name] = fmt.label
            if fmt.with_offset:
                warnings.append(
                    Message(
                        "load.utc_offset", name=source.name, header=header, zone=settings.timezone
                    )
                )
            if fmt.ambiguous:
                warnings.append(Message("load.ambiguous_dates", name=source.name, header=header))
        value = typed_expr(
            col,
            raw,
            dtype,
            seconds_factor=header_seconds_factor(header),
            traits=trait,
            timezone=settings.timezone,
        ).cast(output_dtype(col))
        present = value.is_not_null() if col.kind == Kind.STR else raw.is_not_null()
        values[col.name] = value
        checks.extend(reject_checks(col, present, value, fmt))
    for a, b in table.not_greater:
        if a in values and b in values:
            checks.append((values[a] > values[b], Message("quarantine.greater", a=a, b=b)))
    code = pl.when(checks[0][0]).then(pl.lit(1, pl.UInt16))
    for i, (broken, _) in enumerate(checks[1:], start=2):
        code = code.when(broken).then(pl.lit(i, pl.UInt16))
    code = code.otherwise(pl.lit(0, pl.UInt16))
    # The row as a spreadsheet numbers it (the header is row 1): what a person finds.
    numbered = lf.with_row_index("__row", offset=2)
    try:
        checked = numbered.select(
            "__row",
            *(v.alias(n) for n, v in values.items()),
            *(pl.col(h).cast(pl.String).str.strip_chars() for h in extras),
            code.alias("__code"),
        ).collect(engine="streaming")
        rejected = checked.filter(pl.col("__code") > 0).select("__row", "__code")
        quarantine = _quarantine_rows(source, numbered, rejected, [r for _, r in checks])
    except pl.exceptions.PolarsError as exc:
        raise _csv_error(source.name, exc) from exc
    loaded = checked.filter(pl.col("__code") == 0) if rejected.height else checked
    if any(c.unique for c in table.columns):  # duplicates are reported by file and row
        loaded = loaded.drop("__code").with_columns(pl.lit(source.name).alias("__file"))
    else:  # nothing downstream needs them: save a column per row of a large table
        loaded = loaded.drop("__code", "__row")
    loaded = _typed_attributes(loaded, extras)
    ambiguous = any(t.date is not None and t.date.ambiguous for t in traits.values())
    reasons = tuple(r for _, r in checks)
    return _Checked(loaded, quarantine, chosen, date_formats, tuple(warnings), ambiguous, reasons)


_DATE_HEADERS = ("date", "call date", "дата", "дата звонка", "дата обращения", "день")
_CLOCK = r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$"


def _join_split_dates(
    source: Source, table: Table, mapping: Mapping
) -> tuple[Mapping, dict[str, tuple[str, str]]]:
    """A date-time column whose values are times of day only, beside an unused date column,
    is read as the two joined (exports often split them); the user's mapping wins."""
    headers = source.columns
    chosen = mapping.resolve(headers, table)
    user = mapping.columns.get(table.name, {})
    dates = [h for h in headers if normalize_header(h) in _DATE_HEADERS]
    clocks = {
        c.name: chosen[c.name]
        for c in table.columns
        if c.kind == Kind.DATETIME
        and c.name in chosen
        and c.name not in user
        and chosen[c.name] in headers
    }
    free = [d for d in dates if d not in chosen.values()]
    if not clocks or not free:
        return mapping, {}
    sample = source.lazy().select(list(clocks.values())).head(200).collect()
    joined: dict[str, tuple[str, str]] = {}
    for name, header in clocks.items():
        values = sample[header].cast(pl.String).drop_nulls()
        if values.len() and values.str.contains(_CLOCK).all():
            joined[name] = (free[0], header)
    if not joined:
        return mapping, {}
    columns = {**mapping.columns, table.name: {**user, **joined}}
    return replace(mapping, columns=columns), joined


def _blank_markers(lf: pl.LazyFrame, headers: set[str], mapping: Mapping) -> pl.LazyFrame:
    """Text cells that only mark an empty value (``?``, ``NULL``, the mapping's ``missing``)
    become nulls, so "?" is never a team or a customer called "?"."""
    markers = pl.Series(mapping.missing_markers, dtype=pl.String).implode()
    return lf.with_columns(
        pl.when(pl.col(h).str.strip_chars().is_in(markers)).then(None).otherwise(pl.col(h)).alias(h)
        for h in sorted(headers)
    )


def _typed_attributes(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Attribute columns as numbers where every non-empty value is one (``TotalCharges``
    with blanks), else as text; empty text is null."""
    out: list[pl.Series] = []
    for name in columns:
        text = frame[name].replace("", None)
        number = pl.select(parse_number(pl.lit(text))).to_series()
        numeric = text.null_count() < text.len() and number.null_count() == text.null_count()
        out.append((number if numeric else text).alias(name))
    return frame.with_columns(out) if out else frame


def _quarantine_rows(
    source: Source, numbered: pl.LazyFrame, rejected: pl.DataFrame, reasons: list[str]
) -> pl.DataFrame:
    """The rejected rows as the export had them, with file, row number and reason."""
    if rejected.is_empty():
        return pl.DataFrame(schema=_QUARANTINE_SCHEMA)
    raw = numbered.join(rejected.lazy(), on="__row", how="inner").collect(engine="streaming")
    lookup = dict(enumerate(reasons, start=1))
    return raw.sort("__row").select(
        pl.lit(source.name).alias("file"),
        pl.col("__row").alias("row"),
        pl.col("__code").replace_strict(lookup, return_dtype=pl.String).alias("reason"),
        pl.all().exclude("__row", "__code").cast(pl.String),
    )


_QUARANTINE_SCHEMA = {"file": pl.String, "row": pl.UInt32, "reason": pl.String}


def load_table(
    table: Table, sources: list[Source], mapping: Mapping, settings: Settings
) -> tuple[pl.DataFrame | None, TableReport, list[str], list[str]]:
    """Load every source of one table. Returns (frame, report, errors, warnings)."""
    errors: list[str] = []
    warnings: list[str] = []
    checked: dict[str, _Checked] = {}
    for source in sources:
        try:
            try:
                checked[source.name] = check_source(source, table, mapping, settings)
            except NotUtf8:
                checked[source.name] = check_source(_as_cp1251(source), table, mapping, settings)
        except UnreadableFile as exc:
            errors.append(exc.message)
    used = [s.name for s in sources]
    parts = list(checked.values())
    if not parts:
        empty = pl.DataFrame(schema=_QUARANTINE_SCHEMA)
        return None, TableReport(table.name, tuple(used), 0, 0, empty), errors, warnings
    for part in parts:
        warnings.extend(part.warnings)
    frames = [_with_all_columns(p.loaded, table) for p in parts]
    same = all(f.columns == frames[0].columns for f in frames)  # a snapshot's attributes differ
    frame = pl.concat(frames, how="vertical" if same else "diagonal_relaxed")
    quarantine = pl.concat([p.quarantine for p in parts], how="diagonal_relaxed")
    rows_read = sum(p.loaded.height + p.quarantine.height for p in parts)
    reasons = [r for p in parts for r in p.reasons]
    frame, dup_rows = _quarantine_duplicates(frame, table)
    if dup_rows.height:
        quarantine = pl.concat([quarantine, dup_rows], how="diagonal_relaxed")
        reasons.append(_duplicate_reason(table))
    frame, vocab_warnings = _normalize_vocabularies(
        frame, table, mapping.values.get(table.name, {})
    )
    warnings.extend(vocab_warnings)
    frame = frame.drop("__file", "__row", strict=False)
    report = TableReport(
        table=table.name,
        files=tuple(used),
        rows_read=rows_read,
        rows_loaded=frame.height,
        quarantine=quarantine if quarantine.width else pl.DataFrame(schema=_QUARANTINE_SCHEMA),
        mappings={file: part.mapping for file, part in checked.items()},
        date_formats={k: v for p in parts for k, v in p.date_formats.items()},
        ambiguous_dates=any(p.ambiguous_dates for p in parts),
        messages=tuple(reasons),
    )
    return frame, report, errors, warnings


def _as_cp1251(source: Source) -> Source:
    """A scanned CSV that is not UTF-8 after all: decoded as Windows-1251 in memory."""
    assert source.path is not None
    data, warnings = _from_cp1251(source.name, source.path.read_bytes())
    frame, _ = read_csv(source.name, data)
    return Source(source.name, source.digest, frame=frame, warnings=warnings)


def _with_all_columns(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    missing = [
        pl.lit(None, dtype=output_dtype(c)).alias(c.name)
        for c in table.columns
        if c.name not in frame.columns
    ]
    origin = [c for c in ("__file", "__row") if c in frame.columns]
    extras = [c for c in frame.columns if c not in table.names and c not in origin]
    return frame.with_columns(missing).select(*origin, *table.names, *extras)


def _duplicate_reason(table: Table) -> Message:
    return Message(
        "quarantine.duplicate", columns=", ".join(c.name for c in table.columns if c.unique)
    )


def _quarantine_duplicates(frame: pl.DataFrame, table: Table) -> tuple[pl.DataFrame, pl.DataFrame]:
    unique = [c.name for c in table.columns if c.unique]
    if not unique:
        return frame, pl.DataFrame()
    dup = pl.any_horizontal([~pl.col(c).is_first_distinct() for c in unique])
    dups = frame.filter(dup)
    if dups.is_empty():
        return frame, pl.DataFrame()
    rows = dups.select(
        pl.col("__file").alias("file"),
        pl.col("__row").alias("row"),
        pl.lit(str(_duplicate_reason(table))).alias("reason"),
        *[pl.col(c).cast(pl.String) for c in table.names],
    )
    return frame.filter(~dup), rows


def _normalize_vocabularies(
    frame: pl.DataFrame, table: Table, user: dict[str, dict[str, str]]
) -> tuple[pl.DataFrame, list[str]]:
    """Map the mapping's ``values`` (exact), then known value synonyms to canonical values
    (case-insensitive); keep and list the unknown ones. Works on the distinct values, so it
    costs one hash pass per column."""
    warnings: list[str] = []
    exprs: list[pl.Expr] = []
    if user:
        frame = frame.with_columns(
            pl.col(c).replace(pairs) for c, pairs in user.items() if c in frame.columns
        )
    for col in table.columns:
        if col.vocabulary is None:
            continue
        distinct = frame[col.name].drop_nulls().unique().to_list()
        known = {
            v: col.vocabulary[v.strip().lower()]
            for v in distinct
            if v.strip().lower() in col.vocabulary
        }
        unknown = [v for v in distinct if v not in known]
        if unknown:
            counts = (
                frame.filter(pl.col(col.name).is_in(unknown))
                .group_by(col.name)
                .len()
                .sort(["len", col.name], descending=[True, False])
            )
            listed = [
                Message("load.value_rows", value=clip(v), n=n)
                for v, n in counts.head(8).iter_rows()
            ]
            more = Message("load.more", n=counts.height - 8) if counts.height > 8 else ""
            warnings.append(
                Message(
                    "load.unknown_values",
                    column=f"{table.name}.{col.name}",
                    n=counts.height,
                    listed=tuple(listed),
                    more=more,
                )
            )
        if any(k != v for k, v in known.items()):
            exprs.append(pl.col(col.name).replace(known))
    return (frame.with_columns(exprs) if exprs else frame), warnings


def load_sources(
    sources: Sources,
    mapping: Mapping | None = None,
    settings: Settings | None = None,
    name: str = "dataset",
) -> Dataset:
    """Assign, map, type and validate every source; never raises on bad data. Without a
    ``mapping``, a ``mapping.toml`` among the sources is used."""
    errors = list(sources.errors)
    if mapping is None and sources.mapping_text is not None:
        try:
            mapping = Mapping.from_toml(sources.mapping_text)
        except ValueError as exc:
            errors.append(Message("load.bad_mapping", file=MAPPING_FILE, error=message_of(exc)))
    mapping = mapping or Mapping()
    warnings = [w for s in sources.items for w in s.warnings] + [
        Message("load.not_data", name=s) for s in sources.skipped
    ]
    if settings is None:
        settings = Settings()
        if sources.settings_text is not None:
            try:
                settings = Settings.from_toml(sources.settings_text)
            except ValueError as exc:
                errors.append(
                    Message("load.bad_settings", file=SETTINGS_FILE, error=message_of(exc))
                )
    by_table: dict[str, list[Source]] = {t: [] for t in TABLES}
    for source in sources.items:
        table = assign_table(source, mapping)
        if table is None:
            events = TABLES["events"]
            found = suggest(source.columns, events)
            lacking = [c for c in events.required_names if c not in found]
            errors.append(
                Message(
                    "load.no_table",
                    name=source.name,
                    lacking=", ".join(lacking),
                    found=clip(", ".join(source.columns), FOUND_CHARS),
                )
            )
            continue
        by_table[table].append(source)
    frames: dict[str, pl.DataFrame | None] = {}
    reports: dict[str, TableReport] = {}
    for table_name, table_sources in by_table.items():
        if not table_sources:
            frames[table_name] = None
            continue
        frame, report, t_errors, t_warnings = load_table(
            TABLES[table_name], table_sources, mapping, settings
        )
        frames[table_name], reports[table_name] = frame, report
        errors.extend(t_errors)
        warnings.extend(t_warnings)
    if not any(by_table.values()):
        errors.append(Message("load.no_tables"))
    calls = frames.get("calls")
    if calls is not None:
        calls, call_warnings = _complete_calls(calls)
        warnings.extend(call_warnings)
    events = frames.get("events")
    if events is None:
        events = _empty(TABLES["events"])
    events, event_warnings = _complete_events(events, frames.get("customers"), calls)
    warnings.extend(event_warnings)
    content = hashlib.blake2b(digest_size=16)
    for source in sources.items:
        content.update(source.digest.encode())
    content.update(mapping.to_toml().encode())
    content.update(settings.to_toml().encode())
    report = LoadReport(reports, tuple(errors), tuple(warnings))
    acd = frames.get("acd")
    return Dataset(
        name=name,
        content_hash=content.hexdigest(),
        events=events,
        customers=frames.get("customers"),
        acd=report_for(calls, settings) if acd is None and calls is not None else acd,
        surveys=frames.get("surveys"),
        settings=settings,
        report=report,
        calls=calls,
        acd_derived=acd is None and calls is not None,
    )


def _empty(table: Table) -> pl.DataFrame:
    return pl.DataFrame(schema={c.name: output_dtype(c) for c in table.columns})


PLACEHOLDER_IDS = ("0", "-", "unknown", "anonymous", "none", "na", "неизвестно", "неизвестен")


def _unknown_customers(frame: pl.DataFrame, table: str) -> tuple[pl.DataFrame, list[str]]:
    """Placeholder customer ids (``0``, ``-``, ``unknown``...) shared by several rows mark
    unidentified customers, not one giant customer: they become nulls, with a warning."""
    ids = frame["customer_id"].drop_nulls().unique()
    suspects = ids.filter(
        ids.str.to_lowercase().is_in(pl.Series(PLACEHOLDER_IDS).implode())
        | ids.str.contains(r"^0+$")
    )
    if suspects.is_empty():
        return frame, []
    counts = (
        frame.filter(pl.col("customer_id").is_in(suspects.implode()))
        .group_by("customer_id")
        .len()
        .filter(pl.col("len") > 1)
        .sort(["len", "customer_id"], descending=[True, False])
    )
    if counts.is_empty():
        return frame, []
    listed = tuple(Message("load.placeholder_rows", value=v, n=n) for v, n in counts.iter_rows())
    frame = frame.with_columns(
        pl.when(pl.col("customer_id").is_in(counts["customer_id"].implode()))
        .then(None)
        .otherwise(pl.col("customer_id"))
        .alias("customer_id")
    )
    return frame, [Message("load.placeholders", table=table, listed=listed)]


def _complete_calls(calls: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    calls, warnings = _unknown_customers(calls, "calls")
    ids = calls["call_id"].drop_nulls()
    repeated = ids.len() - ids.n_unique()
    if repeated:
        example = clip(ids.filter(ids.is_duplicated()).sort().head(1).item())
        together = [
            c
            for c in ("arrived_at", "queue", "agent", "customer_id")
            if calls[c].null_count() < calls.height
            and calls.filter(pl.col("call_id").is_not_null()).select("call_id", c).is_unique().all()
        ]
        hint = (
            Message("load.unique_with", columns=reduce(_either, together))
            if together
            else Message("load.not_unique")
        )
        warnings.append(Message("load.reused_call_ids", n=repeated, example=example, hint=hint))
    return calls, warnings


def _either(a: str, b: str) -> Message:
    """``a or b`` (folded over a list: ``a or b or c``)."""
    return Message("load.or", a=a, b=b)


def _complete_events(
    events: pl.DataFrame, customers: pl.DataFrame | None, calls: pl.DataFrame | None
) -> tuple[pl.DataFrame, list[str]]:
    """Events with unidentified customers resolved, calls of known customers added as phone
    contacts, and ``row_nr`` (the export order that breaks timestamp ties)."""
    warnings: list[str] = []
    if events.height and events["customer_id"].null_count() == events.height:
        warnings.append(Message("load.no_customer_column"))
    elif events.height:
        events, placeholder = _unknown_customers(events, "events")
        warnings.extend(placeholder)
    if events["customer_id"].null_count():
        events = events.with_columns(pl.coalesce("customer_id", "case_id").alias("customer_id"))
    phone = call_events(calls) if calls is not None else pl.DataFrame()
    if phone.height:
        events = pl.concat([events, phone], how="diagonal_relaxed").select(events.columns)
        warnings.append(Message("load.phone_contacts", n=phone.height))
    events = events.with_row_index("row_nr")
    warnings.extend(_long_cases(events))
    if customers is not None and events.height:
        unknown = events.filter(~pl.col("customer_id").is_in(customers["customer_id"].implode()))
        if unknown.height:
            who = unknown["customer_id"].n_unique()
            warnings.append(Message("load.unknown_customers", n=unknown.height, customers=who))
    return events, warnings


def _long_cases(events: pl.DataFrame) -> list[str]:
    """A warning for cases that span more than a year: usually ids reused for new cases."""
    first, last = events["timestamp"].min(), events["timestamp"].max()
    if first is None or last - first <= dt.timedelta(days=365):  # type: ignore[operator]
        return []
    spans = (
        events.group_by("case_id")
        .agg((pl.col("timestamp").max() - pl.col("timestamp").min()).alias("span"))
        .filter(pl.col("span") > dt.timedelta(days=365))
        .sort("span", "case_id", descending=[True, False])
    )
    if spans.is_empty():
        return []
    case, days = clip(spans["case_id"][0]), spans["span"][0].days
    return [Message("load.long_cases", n=spans.height, case=case, days=days)]


def load_path(
    path: str | Path, mapping: Mapping | None = None, settings: Settings | None = None
) -> Dataset:
    """Load a folder, zip or single file (see :func:`load_sources`). A folder that
    ``cx-radar reduce`` wrote comes with its reduced tables (:meth:`Dataset.reduced_tables`)
    unless its canonical files changed since (a warning says so)."""
    dataset = load_sources(read_path(path), mapping, settings, name=Path(path).name)
    return dataset if mapping or settings else with_reduced(dataset, path)


def with_reduced(dataset: Dataset, path: str | Path) -> Dataset:
    """``dataset``, loaded from ``path`` as it is, with the reduced tables of the folder
    when ``cx-radar reduce`` wrote it; a warning instead when its canonical files changed
    since the reduce."""
    from analytics.reduce import layout  # the reduce imports the engine, which imports io

    if not (Path(path) / layout.REDUCED / layout.MANIFEST).is_file():
        return dataset
    try:
        reduced = layout.read_reduced(path)
    except layout.ReducedError as exc:
        report = replace(dataset.report, warnings=(*dataset.report.warnings, message_of(exc)))
        return replace(dataset, report=report)
    return replace(dataset, reduced=(dataset.content_hash, reduced))


def with_settings(dataset: Dataset, settings: Settings) -> Dataset:
    """The same data under other settings (no reload; the hash changes with the settings).
    An interval report derived from per-call records is derived again under them."""
    digest = hashlib.blake2b(
        (dataset.content_hash + settings.to_toml()).encode(), digest_size=16
    ).hexdigest()
    acd = dataset.acd
    if dataset.acd_derived and dataset.calls is not None:
        acd = report_for(dataset.calls, settings)
    return replace(dataset, settings=settings, content_hash=digest, acd=acd)
