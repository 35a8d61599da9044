"""How this process's C heap (glibc ``malloc``, where numpy's arrays live) reuses memory.

By default glibc gives every array of more than 32 MB its own ``mmap`` and returns it to
the OS when freed, and each thread allocates from its own arena: the next array (at 10 M
events, one every few milliseconds: codes, keys, gathers) is fresh memory, which the
kernel must fault in and zero, page by page. A first pass over 10 M events allocated
about 1.9 GB that way, and its system time and its variance across runs on this VM were
mostly that. Served from one heap (one arena, no ``mmap``) the freed arrays are reused:
0.37 GB of fresh memory in the same pass. Freed memory stays with the process for the
next arrays (Polars' allocator keeps its own for a minute, see ``analytics/__init__``):
the heap's free space below its top always, at its top up to :data:`KEEP_FREE`, beyond
which glibc gives it back to the OS.

numpy asks the kernel for 2 MB pages (``madvise(MADV_HUGEPAGE)``) on every array of 4 MB
or more. On a VM whose hypervisor takes back the guest's free memory (a balloon's free
page reporting, as on this project's CI VM), a 2 MB page comes from just such memory, and
its first touch costs the host's faults for all of it; small pages come from memory freed
a moment ago. Measured on the 10 M-event case view, first pass, paired in fresh
processes (nine pairs, ``benchmarks/RESULTS.md``): 1.03-1.40 s (median 1.30) with
numpy's huge pages, 0.83-1.07 s (0.94) without; the cost pass level.
:func:`small_pages_for_arrays` switches them off unless the user set
``NUMPY_MADVISE_HUGEPAGE``.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

KEEP_FREE = 1 << 30  # bytes

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8

# Any of these set by the user (or GLIBC_TUNABLES) is theirs: nothing is changed then.
_USER_SETTINGS = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")


def reuse_freed_arrays() -> bool:
    """One arena, no ``mmap`` for large blocks, up to :data:`KEEP_FREE` kept at the
    heap's top; False (nothing changed) without glibc or when the user set any of them."""
    if any(name in os.environ for name in _USER_SETTINGS) or "GLIBC_TUNABLES" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl, Windows)
        return False
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, KEEP_FREE))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


def small_pages_for_arrays() -> bool:
    """numpy's request for 2 MB pages on large arrays switched off (see the module doc);
    False (nothing changed) when the user set ``NUMPY_MADVISE_HUGEPAGE``, numpy read at
    import, or numpy has no such switch."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    switch = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    if switch is None:
        return False
    switch(False)
    return True
