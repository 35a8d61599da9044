"""A disk cache of engine results, keyed by the dataset's content, so a restart recomputes
nothing and heavy work (risk model, forecasts, case views) runs once per dataset.

An entry's key is ``blake2b(content hash, function name, repr(parameters), code version)``;
the code version hashes the engine's sources (``analytics/``) and the versions of Python
and the numeric libraries, so changed code or a library upgrade never reads an old result;
a function defined outside the engine (a page's thin wrapper) adds its own file's digest
to its name (:func:`qualified_name`). Layout: ``<root>/entries/<key>.cxr``, one file per entry::

    MAGIC | u32 frame count | (u64 length, Parquet bytes) per frame | pickle of the rest

Every Polars frame inside a result (at any depth: in tuples, dicts, dataclasses) is stored
as Parquet; the skeleton around the frames (our own frozen dataclasses, numbers, fitted
scikit-learn / statsmodels objects) is pickled. Pickle runs code when loaded, so the cache
reads only files it wrote itself in its own directory (created private, mode 0700) and
never anything a user uploads; whoever can write into that directory can already run code
as the app's user. Delete the directory at any time: everything in it is recomputed.

Robustness: writes go to a temporary file renamed into place (readers see the old entry or
the new one, never half of one); a file that cannot be read is deleted and recomputed; a
result that cannot be stored is simply returned; an unwritable directory turns the disk
layer off. The computation's own exceptions propagate unchanged and are never cached. One
computation per key at a time across threads and processes (an ``flock`` per key), so ten
sessions opening a cold app fit the risk model once. The directory stays under
``max_bytes``: after a write the least recently used entries (by modification time, which
a hit refreshes) are deleted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import pickle
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from analytics.dataset import Dataset

try:  # POSIX only; elsewhere concurrent computations of one key simply both run
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
MAGIC = b"CXRADAR-CACHE-1\n"
SUFFIX = ".cxr"
DEFAULT_DIR = ".cx_radar_cache"
DEFAULT_MAX_MB = 2048
LOCK_WAIT_S = 600.0  # waiting longer for another process's computation than this: compute too
_LIBRARIES = ("polars", "pyarrow", "numpy", "pandas", "scikit-learn", "statsmodels", "scipy")
_log = logging.getLogger("cx_radar")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the engine's sources plus Python's and the libraries' versions: part of
    every key, so results of other code are never read."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(sys.version.encode())
    for name in _LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{name}={metadata.version(name)}".encode())
    engine = Path(__file__).resolve().parent
    for path in sorted(engine.rglob("*")):
        if path.suffix in {".py", ".toml"} and path.is_file():
            digest.update(path.relative_to(engine).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def qualified_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of ``fn``; outside the engine (whose sources the code version
    covers) followed by ``@`` and a digest of the file defining it."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if fn.__module__.split(".")[0] == "analytics":
        return name
    code = getattr(fn, "__code__", None)
    return f"{name}@{_file_digest(code.co_filename)}" if code is not None else name


def _file_digest(filename: str) -> str:
    try:
        stat = os.stat(filename)
    except OSError:
        return "?"
    return _digest_of(filename, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _digest_of(filename: str, mtime_ns: int, size: int) -> str:
    del mtime_ns, size  # cache key only: an edited file is read again
    try:
        return hashlib.blake2b(Path(filename).read_bytes(), digest_size=8).hexdigest()
    except OSError:
        return "?"


@dataclass
class Stats:
    """What the cache did since it was made (for tests and the benchmark)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    failures: int = 0  # unreadable entries recomputed, results that could not be stored


class DiskCache:
    """Results on disk under ``root`` (see the module docstring); ``root=None`` is off."""

    def __init__(
        self,
        root: str | Path | None,
        max_bytes: int = DEFAULT_MAX_MB * 2**20,
        version: str | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.version = version if version is not None else code_version()
        self.stats = Stats()
        self.entries: Path | None = None
        if root is not None:
            try:
                entries = Path(root) / "entries"
                entries.mkdir(parents=True, exist_ok=True, mode=0o700)
                self.entries = entries
            except OSError as exc:
                _log.warning("disk cache off: cannot create %s (%s)", root, exc)

    def key(self, content_hash: str, name: str, params: tuple[object, ...]) -> str | None:
        """The entry's name, or None when a parameter has no faithful ``repr`` (an object
        printed with its memory address would never match again)."""
        text = repr(params)
        if " at 0x" in text:
            return None
        digest = hashlib.blake2b(digest_size=20)
        for part in (self.version, content_hash, name, text):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def get_or_compute(
        self, content_hash: str, name: str, params: tuple[object, ...], compute: Callable[[], T]
    ) -> T:
        """The stored result for (content, name, params), else ``compute()`` stored."""
        key = self.key(content_hash, name, params) if self.entries is not None else None
        if key is None or self.entries is None:
            return compute()
        path = self.entries / f"{key}{SUFFIX}"
        found = self._load(path)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        with self._lock(key):
            found = self._load(path)  # another process may have written it meanwhile
            if found is not _MISSING:
                return found  # type: ignore[return-value]
            self.stats.misses += 1
            value = compute()
            self._store(path, value)
        self._evict()
        return value

    def size(self) -> int:
        """Bytes the entries take."""
        return sum(size for _, size, _ in self._listing())

    def clear(self) -> int:
        """Delete every entry; returns how many."""
        removed = 0
        for path, _, _ in self._listing():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def _load(self, path: Path) -> Any:
        try:
            data = path.read_bytes()
        except OSError:
            return _MISSING
        try:
            value = decode(data)
        except Exception as exc:  # a torn, truncated or foreign file: recompute
            _log.warning("disk cache: dropping unreadable %s (%s)", path.name, exc)
            self.stats.failures += 1
            with contextlib.suppress(OSError):
                path.unlink()
            return _MISSING
        self.stats.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return value

    def _store(self, path: Path, value: object) -> None:
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(encode(value))
            os.replace(tmp, path)
            self.stats.writes += 1
        except Exception as exc:  # unpicklable or unwritable: the result is still returned
            _log.info("disk cache: not storing %s (%s)", path.name, exc)
            self.stats.failures += 1
            with contextlib.suppress(OSError):
                tmp.unlink()

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """Hold ``<key>.lock`` while computing (one open per call, so threads of one
        process exclude each other too). Waits at most LOCK_WAIT_S, then goes ahead."""
        if fcntl is None or self.entries is None:
            yield
            return
        try:
            handle = open(self.entries / f"{key}.lock", "a+b")  # noqa: SIM115 - held across yield
        except OSError:
            yield
            return
        with handle:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
            yield  # the lock goes with the handle's close

    def _listing(self) -> list[tuple[Path, int, float]]:
        if self.entries is None:
            return []
        found = []
        for path in self.entries.iterdir():
            with contextlib.suppress(OSError):
                stat = path.stat()
                found.append((path, stat.st_size, stat.st_mtime))
        return found

    def _evict(self) -> None:
        """Least recently used entries out until the directory is under ``max_bytes``;
        temporary files of writers that died an hour ago go too."""
        listing = self._listing()
        now = time.time()
        total = sum(size for _, size, _ in listing)
        for path, size, mtime in sorted(listing, key=lambda e: (e[2], e[0].name)):
            if path.suffix == ".tmp":
                if now - mtime > 3600:
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            if path.suffix != SUFFIX or total <= self.max_bytes:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                path.with_suffix(".lock").unlink(missing_ok=True)
                total -= size


class _Missing:
    pass


_MISSING = _Missing()


class _FramePickler(pickle.Pickler):
    """Pickles everything but Polars frames, which it lists for storage as Parquet."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=5)
        self.frames: list[pl.DataFrame] = []

    def persistent_id(self, obj: object) -> int | None:
        if isinstance(obj, pl.DataFrame):
            self.frames.append(obj)
            return len(self.frames) - 1
        return None


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, frames: list[pl.DataFrame]) -> None:
        super().__init__(file)
        self.frames = frames

    def persistent_load(self, pid: object) -> pl.DataFrame:
        return self.frames[pid]  # type: ignore[index]


def encode(value: object) -> bytes:
    """``value`` as an entry's bytes (module docstring)."""
    skeleton = io.BytesIO()
    pickler = _FramePickler(skeleton)
    pickler.dump(value)
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(struct.pack("<I", len(pickler.frames)))
    for frame in pickler.frames:
        part = io.BytesIO()
        frame.write_parquet(part, compression="lz4", statistics=False)
        out.write(struct.pack("<Q", part.tell()))
        out.write(part.getvalue())
    out.write(skeleton.getvalue())
    return out.getvalue()


def decode(data: bytes) -> object:
    """The value of an entry's bytes; raises ValueError on anything not written by
    :func:`encode`."""
    view = memoryview(data)
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise ValueError("not a cache entry")
    at = len(MAGIC)
    (count,) = struct.unpack_from("<I", view, at)
    at += 4
    frames = []
    for _ in range(count):
        (length,) = struct.unpack_from("<Q", view, at)
        at += 8
        if at + length > len(view):
            raise ValueError("truncated entry")
        frames.append(pl.read_parquet(io.BytesIO(view[at : at + length])))
        at += length
    return _FrameUnpickler(io.BytesIO(view[at:]), frames).load()


def default_cache() -> DiskCache:
    """The cache the app and ``cx-radar warm`` share: the directory named by
    ``CX_RADAR_CACHE`` (``off`` turns the disk layer off), else ``.cx_radar_cache`` in the
    working directory; at most ``CX_RADAR_CACHE_MB`` megabytes (default 2048)."""
    where = os.environ.get("CX_RADAR_CACHE", DEFAULT_DIR)
    try:
        megabytes = float(os.environ.get("CX_RADAR_CACHE_MB", DEFAULT_MAX_MB))
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    root = None if where.strip().lower() in {"off", "none", ""} else where
    return DiskCache(root, int(megabytes * 2**20))


def load_cached(path: str | Path, cache: DiskCache) -> Dataset:
    """:func:`analytics.io.load_path` through ``cache``: keyed by the digests of the files
    read (cheap: the bytes are hashed, not parsed), so unchanged exports load from Parquet
    and an edited file loads afresh."""
    from analytics.io import load_sources, read_path, with_reduced

    sources = read_path(path)
    name = Path(path).name
    read = (
        name,
        tuple((item.name, item.digest) for item in sources.items),
        sources.errors,
        sources.skipped,
        sources.settings_text,
        sources.mapping_text,
    )
    digest = hashlib.blake2b(repr(read).encode(), digest_size=16).hexdigest()
    loaded = cache.get_or_compute(
        digest, "analytics.io.load_sources", (), lambda: load_sources(sources, name=name)
    )
    return with_reduced(loaded, path)
