"""Which dataset the session looks at, and cached engine calls keyed by its content hash.

Results are cached in two layers, both keyed by the dataset's content hash (not by
Streamlit's sampling hash of a frame, so a changed cell always invalidates them): in memory
with ``st.cache_resource`` (no copy per rerun; Polars frames and frozen dataclasses are
never mutated), and on disk (:mod:`analytics.cache`), so a restarted server, another
process and ``python -m dashboard.warm`` share every result and recompute nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import polars as pl
import streamlit as st

from analytics.cache import DiskCache, default_cache, load_cached, qualified_name
from analytics.dataset import Dataset
from analytics.io import Sources, load_sources, read_uploads, with_settings
from analytics.limits import clip
from analytics.mapping import Mapping
from analytics.messages import Message
from analytics.schema import Settings
from analytics.store import store_path
from dashboard import filters

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
MESSAGE_CHARS = 500  # a report message longer than this is cut on screen
_log = logging.getLogger("cx_radar")


def escalation_store() -> Path:
    """The escalation state store the app shares with ``cx-radar escalate``: the file named
    by ``CX_RADAR_STATE``, else ``cx_radar_state.sqlite`` in the working directory (the
    CLI's default, so a scheduled run from the same directory uses the same store)."""
    return store_path(os.environ.get("CX_RADAR_STATE", "cx_radar_state.sqlite"))


def sample_dir() -> Path:
    """The built-in data: ``sample_data/``, or the folder named by ``CX_RADAR_DATA``."""
    return Path(os.environ.get("CX_RADAR_DATA", ROOT / "sample_data"))


@st.cache_resource(show_spinner=False)
def disk_cache() -> DiskCache:
    """The process's disk cache (``CX_RADAR_CACHE``, ``CX_RADAR_CACHE_MB``)."""
    return default_cache()


@st.cache_resource(show_spinner=False, max_entries=2)
def _sample(path: str) -> Dataset:
    return load_cached(path, disk_cache())


def preload_sample() -> None:
    """Read the built-in dataset and the sidebar's filter choices into the memory cache
    (:mod:`dashboard.serve` does it at start, so the first visit finds them ready)."""
    filters.choices(_sample(str(sample_dir())))


@st.cache_resource(show_spinner=False, max_entries=4)
def _uploaded(key: str, _files: tuple[tuple[str, bytes], ...], mapping_toml: str) -> Dataset:
    """The uploaded files as a dataset. Never raises: whatever goes wrong becomes an error
    in its report, which the sidebar and the Data page show (the sidebar runs before any
    page, so an exception there would lock the session out of every page)."""
    del key  # the cache key: digests of the files plus the mapping
    try:
        # no mapping edited yet: a mapping.toml among the uploads is used
        chosen = Mapping.from_toml(mapping_toml) if mapping_toml else None
        dataset = load_sources(read_uploads(_files), chosen, name="upload")
    except (Exception, pl.exceptions.PanicException) as exc:
        dataset = load_sources(Sources((), (_failure(exc),)), name="upload")
    report = dataset.report
    cut = [tuple(_cut(m) for m in ms) for ms in (report.errors, report.warnings)]
    return replace(dataset, report=replace(report, errors=cut[0], warnings=cut[1]))


def _cut(message: str) -> str:
    """A report message for the screen: an engine message as it is (its values are cut
    already, and cutting its English would lose the Russian), other text cut."""
    return message if isinstance(message, Message) else clip(message, MESSAGE_CHARS)


def _failure(exc: BaseException) -> str:
    """An unexpected failure reading an upload: logged in full, shown in one line."""
    _log.exception("reading an upload failed")
    first = (str(exc).strip().splitlines() or [""])[0]
    return Message("read.failed", kind=type(exc).__name__, detail=clip(first))


def upload_key(files: tuple[tuple[str, bytes], ...], mapping: Mapping) -> str:
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for name, data in files:
        digest.update(name.encode())
        digest.update(hashlib.blake2b(data, digest_size=16).digest())
    digest.update(mapping.to_toml().encode())
    return digest.hexdigest()


def mapping() -> Mapping:
    return st.session_state.get("mapping") or Mapping()


def uploads() -> tuple[tuple[str, bytes], ...]:
    return st.session_state.get("uploads", ())


def uploaded_dataset() -> Dataset | None:
    files = uploads()
    if not files:
        return None
    return _uploaded(upload_key(files, mapping()), files, mapping().to_toml())


def current_dataset(filtered: bool = True) -> Dataset:
    """The dataset chosen in the sidebar, under the session's settings if edited, restricted
    to the sidebar's global filters (:mod:`dashboard.filters`) unless ``filtered`` is False."""
    dataset = None
    if st.session_state.get("source") == "upload":
        dataset = uploaded_dataset()
    if dataset is None or not dataset.report.usable:
        dataset = _sample(str(sample_dir()))
    settings: Settings | None = st.session_state.get("settings")
    dataset = with_settings(dataset, settings) if settings is not None else dataset
    return filters.filtered(dataset) if filtered else dataset


@st.cache_resource(show_spinner=False, max_entries=64)
def _engine(
    name: str,
    content_hash: str,
    params: tuple[object, ...],
    _fn: Callable[..., T],
    _dataset: Dataset,
) -> T:
    call = functools.partial(_fn, compute=engine) if _takes_compute(_fn) else _fn
    return disk_cache().get_or_compute(content_hash, name, params, lambda: call(_dataset, *params))


@functools.cache
def _takes_compute(fn: Callable[..., object]) -> bool:
    return "compute" in inspect.signature(fn).parameters


def engine(fn: Callable[..., T], dataset: Dataset, *params: object) -> T:
    """``fn(dataset, *params)``, computed once per dataset content and parameters. A
    function with a ``compute`` keyword (such as ``escalation.inputs_for``) is given this
    cache as it, so its own steps are shared with the pages' and the whole is cached too."""
    return _engine(qualified_name(fn), dataset.content_hash, params, _fn=fn, _dataset=dataset)


def engine_using(fn: Callable[..., T], dataset: Dataset, *params: object) -> T:
    """``fn(dataset, *params, compute=engine)``, cached as :func:`engine` caches: a step
    built on other cached steps, which it asks ``compute`` for instead of redoing them."""
    step = lambda d, *p: fn(d, *p, compute=engine)  # noqa: E731
    return _engine(qualified_name(fn), dataset.content_hash, params, _fn=step, _dataset=dataset)


@st.cache_resource(show_spinner=False, max_entries=4)
def _read(key: str, _files: tuple[tuple[str, bytes], ...]) -> Sources:
    del key
    try:
        return read_uploads(_files)
    except (Exception, pl.exceptions.PanicException) as exc:
        return Sources((), (_failure(exc),))


def uploaded_sources() -> Sources | None:
    """The raw tables of the uploaded files (read once per upload), for the mapping editor."""
    files = uploads()
    return _read(upload_key(files, Mapping()), files) if files else None
