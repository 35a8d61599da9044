"""The one process-wide setting the engine makes: how long Polars' allocator keeps memory."""

import os
import subprocess
import sys

KEEP = "dirty_decay_ms:60000,muzzy_decay_ms:60000"


def _allocator_conf(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run(
        [sys.executable, "-c", code + "; import os; print(os.environ['_RJEM_MALLOC_CONF'])"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_memory_is_kept_when_analytics_loads_first():
    # Polars puts its own defaults first and ours after them: the last value wins.
    assert _allocator_conf("import analytics, polars").endswith(KEEP)


def test_processes_started_after_polars_loaded_first_get_it_too():
    assert _allocator_conf("import polars, analytics") == KEEP


def test_a_users_own_setting_wins():
    conf = _allocator_conf("import analytics, polars", _RJEM_MALLOC_CONF="dirty_decay_ms:0")
    assert conf.endswith("dirty_decay_ms:0")
    assert KEEP not in conf
