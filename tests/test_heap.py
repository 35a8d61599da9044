"""The C heap's setting (analytics.heap): a freed large array's memory serves the next one,
whichever thread allocated it, unless the user set glibc's malloc options; numpy's arrays
in small pages unless the user set numpy's own switch."""

import json
import os
import subprocess
import sys

# Faults while a second 64 MB array is filled after the first was freed (the first filled
# on a worker thread), counted in 4 KiB pages: numpy's huge pages switched off so that a
# fresh array faults 16,384 times, a reused one hardly at all.
CODE = """
import json, resource, threading
import analytics, numpy as np
from analytics.heap import reuse_freed_arrays
size = 64 << 20
def fill():
    np.ones(size, dtype=np.uint8)
worker = threading.Thread(target=fill)
worker.start(); worker.join()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
again = np.ones(size, dtype=np.uint8)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults": faults, "again": reuse_freed_arrays()}))
"""


def _run(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop("GLIBC_TUNABLES", None)
    out = subprocess.run(
        [sys.executable, "-c", CODE],
        env={**clean, "NUMPY_MADVISE_HUGEPAGE": "0", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_freed_array_is_reused_across_threads():
    found = _run()
    assert found["again"]
    assert found["faults"] < 1_000  # 16,384 pages if it were fresh


def test_a_users_malloc_setting_wins():
    found = _run(MALLOC_ARENA_MAX="4")
    assert not found["again"]
    assert found["faults"] > 16_000  # glibc's own way: a fresh mmap per large array


PAGES = """
import json
import analytics, numpy as np
switch = np._core.multiarray._set_madvise_hugepage
print(json.dumps({"huge": switch(True)}))  # the setting found, before this call's
"""


def _huge_pages(**env: str) -> bool:
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run(
        [sys.executable, "-c", PAGES], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["huge"]


def test_arrays_come_in_small_pages_unless_the_user_says_otherwise():
    assert not _huge_pages()  # numpy's default on Linux 4.6+ is on: analytics turned it off
    assert _huge_pages(NUMPY_MADVISE_HUGEPAGE="1")
