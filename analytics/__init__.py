"""CX Radar's engine: loading, analytics, the CLI. It never imports streamlit."""

import os

# Polars' allocator (jemalloc) hands freed pages back to the OS within seconds; the next
# pass over 10 M events then faults 100k+ of them back in, at several µs each on a VM.
# Kept for a minute, repeated passes (a filter changed on a page) run ~20 % faster for
# ~0.5 GB more peak memory (benchmarks/RESULTS.md). jemalloc reads this once, when
# polars loads, so it is set here, before any of our modules import polars. Polars
# itself chose short decays to keep memory low (pola-rs/polars#23128); a user setting
# of the variable wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:60000,muzzy_decay_ms:60000")
