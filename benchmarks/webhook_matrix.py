"""The webhook fault matrix of tests/test_webhook.py as a table: 17 alerts per fault, the
receiver misbehaving for its first 5 POSTs ("refused": nothing listens in the first round),
2 attempts per alert per round, rounds until the outbox is empty.

    .venv/bin/python benchmarks/webhook_matrix.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.store import Store
from tests.test_webhook import run_matrix_case

print("| fault | rounds | POSTs | alerts received (with repeats) | distinct | left in outbox |")
print("|---|---|---|---|---|---|")
for fault in ("500", "refused", "302", "timeout", "slow"):
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s.sqlite") as store:
        o = run_matrix_case(fault, store)
        print(f"| {fault} | {o.rounds} | {o.posts} | {o.received} | {o.distinct} | {o.pending} |")
