"""CX Radar's engine: loading, analytics, the CLI. It never imports streamlit."""

import os

# Polars' allocator (jemalloc) hands freed pages back to the OS within a second; the next
# pass over 10 M events then faults 100k+ of them back in, at several µs each on a VM.
# Kept for a minute, repeated passes (a filter changed on a page) run ~20 % faster for
# ~0.5 GB more peak memory (benchmarks/RESULTS.md). Polars chose its short decays to keep
# memory low (pola-rs/polars#23128) and writes them to this variable when it loads, which
# is also when jemalloc reads it: set here, before our modules import polars, it applies
# to this process; set after, to the processes it starts. Any other value is the user's.
_POLARS_DEFAULT = "dirty_decay_ms:500,muzzy_decay_ms:1000"
if os.environ.get("_RJEM_MALLOC_CONF", _POLARS_DEFAULT) == _POLARS_DEFAULT:
    os.environ["_RJEM_MALLOC_CONF"] = "dirty_decay_ms:60000,muzzy_decay_ms:60000"

# numpy's freed arrays reused by the next ones instead of fresh memory, in small pages
# (analytics/heap.py).
from analytics.heap import reuse_freed_arrays, small_pages_for_arrays  # noqa: E402

reuse_freed_arrays()
small_pages_for_arrays()
