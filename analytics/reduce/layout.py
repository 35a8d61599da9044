"""The folder a reduce writes, ``OUT``, and reading it back.

::

    OUT/events.parquet      the canonical tables, as the loader reads them: ``load_path(OUT)``
    OUT/calls.parquet       gives the dataset that was reduced (events without ``row_nr``,
    OUT/customers.parquet   in export order; the calls' phone contacts are added again on
    OUT/acd.parquet         loading; ``acd`` only when the input had an exported report)
    OUT/surveys.parquet
    OUT/settings.toml
    OUT/reduced/cases.parquet ... intervals.parquet   the tables of analytics.reduce.tables
    OUT/reduced/manifest.json

The loader reads the files of a folder, not its sub-folders, so ``reduced/`` never
disturbs it. The manifest records the engine, how paths were read (self-loops, closing
states) and a digest of every canonical file: :func:`read_reduced` refuses tables whose
canonical files changed since, rather than show figures of other data. A canonical table
is one Parquet file or a folder of part files (as a lake holds it); a reduced table is one
Parquet file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from analytics.calls import call_events
from analytics.cases import Loops
from analytics.dataset import Dataset
from analytics.messages import Message
from analytics.reduce.tables import SCHEMAS, Reduced, conform

CANONICAL = ("events", "calls", "customers", "acd", "surveys")
# The canonical tables an engine reads whole into memory (far fewer rows than events).
IN_MEMORY = ("calls", "customers", "surveys")
SETTINGS_FILE = "settings.toml"
REDUCED = "reduced"
MANIFEST = "manifest.json"
FORMAT = 1


class ReducedError(ValueError):
    """The reduced tables of a folder cannot be used; the message says why."""


def digest(path: Path) -> str:
    """The file's blake2b digest, as the loader computes it (a folder: of its part files)."""
    hashed = hashlib.blake2b(digest_size=16)
    for part in sorted(path.glob("*.parquet")) if path.is_dir() else [path]:
        with part.open("rb") as handle:
            hashed.update(
                hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).digest()
            )
    return hashed.hexdigest()


def write_dataset(dataset: Dataset, out: Path) -> list[Path]:
    """The dataset's canonical tables and settings into ``out``, so that the loader reads
    the same dataset back: events in their export order without ``row_nr`` and without
    the calls' phone contacts (loading adds them again), ``acd`` only when exported."""
    out.mkdir(parents=True, exist_ok=True)
    events = dataset.events
    if dataset.calls is not None:
        events = events.head(events.height - call_events(dataset.calls).height)
    tables = {
        "events": events.drop("row_nr") if events.height else None,
        "calls": dataset.calls,
        "customers": dataset.customers,
        "acd": None if dataset.acd_derived else dataset.acd,
        "surveys": dataset.surveys,
    }
    written = []
    for name, table in tables.items():
        if table is not None:
            written.append(out / f"{name}.parquet")
            table.write_parquet(written[-1])
    written.append(out / SETTINGS_FILE)
    written[-1].write_text(dataset.settings.to_toml(), encoding="utf-8")
    return written


def canonical_files(folder: Path) -> dict[str, Path]:
    """The canonical Parquet tables of a folder (``events.parquet``, a file or a folder of
    parts, ...) by table name."""
    found = {name: folder / f"{name}.parquet" for name in CANONICAL}
    return {name: path for name, path in found.items() if path.exists()}


def copy_canonical(source: Path, out: Path) -> list[Path]:
    """The canonical tables and settings of ``source`` copied into ``out`` as they are."""
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    paths = [*canonical_files(source).values(), source / SETTINGS_FILE]
    for path in paths:
        if not path.exists() or path.resolve().parent == out.resolve():
            continue
        target = out / path.name
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(path, target)
        copied.append(target)
    return copied


def write_tables(out: Path, tables: dict[str, pl.DataFrame]) -> None:
    """The reduced tables as ``out/reduced/<name>.parquet``."""
    folder = out / REDUCED
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.write_parquet(folder / f"{name}.parquet")


def write_manifest(
    out: Path, engine: str, loops: Loops, closing: Iterable[str], rows: dict[str, int]
) -> Path:
    """The manifest of ``out/reduced``: the engine, how paths were read, each table's rows
    and the digest of each canonical file now in ``out``."""
    manifest = {
        "format": FORMAT,
        "engine": engine,
        "self_loops": {"share": loops.share, "collapsed": loops.collapsed},
        "closing": list(closing),
        "inputs": {path.name: digest(path) for path in canonical_files(out).values()},
        "tables": rows,
    }
    path = out / REDUCED / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_reduced(out: Path, reduced: Reduced, engine: str) -> Path:
    """The tables of ``reduced`` and their manifest into ``out``."""
    tables = reduced.tables()
    write_tables(out, tables)
    return write_manifest(
        out, engine, reduced.loops, reduced.closing, {n: t.height for n, t in tables.items()}
    )


def manifest(out: Path) -> dict[str, Any]:
    """The manifest of ``out``, checked against its canonical files."""
    path = Path(out) / REDUCED / MANIFEST
    if not path.is_file():
        raise ReducedError(Message("reduced.none", out=str(out)))
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        inputs, tables = dict(found["inputs"]), dict(found["tables"])
        loops = found["self_loops"]
        found["self_loops"] = Loops(float(loops["share"]), bool(loops["collapsed"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ReducedError(
            Message("reduced.not_manifest", path=str(path), detail=str(exc))
        ) from exc
    now = {p.name: digest(p) for p in canonical_files(Path(out)).values()}
    changed = sorted(name for name in {*inputs, *now} if inputs.get(name) != now.get(name))
    if changed:
        raise ReducedError(Message("reduced.changed", out=str(out), files=", ".join(changed)))
    unknown = sorted(set(tables) - set(SCHEMAS))
    if unknown:
        raise ReducedError(Message("reduced.unknown", path=str(path), tables=", ".join(unknown)))
    return found


def read_reduced(out: str | Path) -> Reduced:
    """The reduced tables of ``out`` (raises :class:`ReducedError` when there are none or
    the canonical files changed since)."""
    out = Path(out)
    found = manifest(out)
    tables = {
        name: conform(name, pl.read_parquet(out / REDUCED / f"{name}.parquet"))
        for name in found["tables"]
    }
    return Reduced(
        cases=tables["cases"],
        variants=tables["variants"],
        dfg=tables["dfg"],
        tags=tables["tags"],
        intervals=tables.get("intervals"),
        loops=found["self_loops"],
        closing=tuple(found["closing"]),
        features=tables.get("features"),
    )
