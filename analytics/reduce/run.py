"""``cx-radar reduce INPUT OUT``: one engine's reduce from an input folder into ``OUT``.

* ``polars`` (the default): the input is anything the loader reads (exports in any
  supported format, with a mapping); it is loaded, validated and written into ``OUT`` as
  canonical Parquet, then reduced in memory;
* ``polars`` with ``parts`` above 1, and ``spark``: the input is a folder of canonical
  Parquet tables (as the first way writes them), copied into ``OUT`` as they are and
  reduced without loading the events whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics.cases import Loops
from analytics.cost import CLOSING_STATES
from analytics.dataset import Dataset
from analytics.reduce import layout
from analytics.reduce.tables import reduce_dataset
from analytics.schema import Settings

ENGINES = ("polars", "spark")


@dataclass(frozen=True)
class Run:
    """What a reduce wrote: the engine, the rows of each table, whether self-loops were
    collapsed (and their share), and the seconds it took."""

    engine: str
    rows: dict[str, int]
    self_loops: float
    collapsed: bool
    seconds: float


@dataclass(frozen=True)
class _Input:
    """A folder of canonical tables: the events' Parquet files in export order, the
    tables held in memory (calls, customers, surveys: far fewer rows) and the settings."""

    events: list[Path]
    calls: pl.DataFrame | None
    customers: pl.DataFrame | None
    surveys: pl.DataFrame | None
    settings: Settings


def _canonical_input(source: Path) -> _Input:
    """The canonical tables of a folder; a clear error when it is not one."""
    found = layout.canonical_files(source) if source.is_dir() else {}
    if "events" not in found and "calls" not in found:
        raise ValueError(
            f"{source}: no events.parquet or calls.parquet; this engine reads canonical "
            "Parquet tables, as `cx-radar reduce INPUT OUT` (the polars engine) writes them"
        )
    events = found.get("events")
    files = sorted(events.glob("*.parquet")) if events and events.is_dir() else [events]
    settings_file = source / layout.SETTINGS_FILE
    settings = (
        Settings.from_toml(settings_file.read_text(encoding="utf-8"))
        if settings_file.exists()
        else Settings()
    )
    small = {n: pl.read_parquet(found[n]) if n in found else None for n in layout.IN_MEMORY}
    return _Input([f for f in files if f is not None], **small, settings=settings)


def check_out(source: Path, out: Path) -> None:
    """Refuses to write the reduce over its own input."""
    if out.exists() and out.resolve() == source.resolve():
        raise ValueError(f"{out}: OUT must be another folder than INPUT")


def reduce_loaded(
    dataset: Dataset,
    out: Path,
    collapse: bool | None = None,
    closing: Sequence[str] = CLOSING_STATES,
) -> Run:
    """The in-memory reduce of a loaded dataset into ``out``."""
    start = time.perf_counter()
    layout.write_dataset(dataset, out)
    reduced = reduce_dataset(dataset, collapse, closing)
    layout.write_reduced(out, reduced, "polars")
    rows = {name: table.height for name, table in reduced.tables().items()}
    loops = reduced.loops
    return Run("polars", rows, loops.share, loops.collapsed, time.perf_counter() - start)


def reduce_canonical(
    source: Path,
    out: Path,
    engine: str,
    parts: int = 1,
    master: str = "local[2]",
    collapse: bool | None = None,
    closing: Sequence[str] = CLOSING_STATES,
) -> Run:
    """The reduce of a folder of canonical Parquet tables into ``out``: by ``spark`` (on
    ``master``) or by Polars in ``parts`` parts."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    start = time.perf_counter()
    check_out(source, out)
    found = _canonical_input(source)
    layout.copy_canonical(source, out)
    if engine == "spark":
        name = "spark"
        loops, rows = _spark(source, out, found.settings, master, collapse, tuple(closing))
        layout.write_manifest(out, name, loops, closing, rows)
    else:
        from analytics.reduce.partitioned import reduce_parts

        name = f"polars in {parts} parts"
        reduced = reduce_parts(
            found.events,
            found.settings,
            parts,
            found.calls,
            collapse,
            closing,
            customers=found.customers,
            surveys=found.surveys,
        )
        layout.write_reduced(out, reduced, name)
        loops, rows = reduced.loops, {n: t.height for n, t in reduced.tables().items()}
    return Run(name, rows, loops.share, loops.collapsed, time.perf_counter() - start)


def _spark(
    source: Path,
    out: Path,
    settings: Settings,
    master: str,
    collapse: bool | None,
    closing: tuple[str, ...],
) -> tuple[Loops, dict[str, int]]:
    try:
        from analytics.reduce.spark import reduce_folder, session
    except ImportError as exc:
        raise ValueError(
            "the spark engine needs PySpark (pip install 'cx-radar[spark]') and Java 17 or "
            f"later ({exc})"
        ) from exc
    try:
        spark = session(master)
    except Exception as exc:  # no Java, a master that does not answer: one line
        raise ValueError(f"Spark did not start on {master} ({str(exc).splitlines()[0]})") from exc
    return reduce_folder(spark, source, out, settings, collapse, closing)
