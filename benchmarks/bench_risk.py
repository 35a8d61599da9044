"""Risk model, tension zones and one escalation run on the sample company.

Run: ``.venv/bin/python benchmarks/bench_risk.py [--runs 3]``. Each run is a fresh
subprocess (so nothing is cached between runs) that loads ``sample_data/`` (not timed) and
times the risk model (feature snapshots, both models, calibration, permutation importance,
scoring), the tension zones, and a whole ``escalate`` evaluation (which reuses neither).
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: the script folder is on sys.path

CODE = """
import datetime as dt, json, resource, time
from analytics.io import load_path
from analytics.escalation import Rules, evaluate, inputs_for
from analytics.risk import train
from analytics.tension import zones
ds = load_path("sample_data")
t = time.perf_counter(); model = train(ds); risk_s = time.perf_counter() - t
t = time.perf_counter(); found = zones(ds); zones_s = time.perf_counter() - t
t = time.perf_counter()
run = evaluate(Rules.default(), inputs_for(ds), {}, dt.datetime(2026, 1, 1))
escalate_s = time.perf_counter() - t
print(json.dumps({"risk_s": risk_s, "zones_s": zones_s, "escalate_s": escalate_s,
                  "customers": model.scored.height, "alerts": len(run.alerts),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def report(med: dict[str, float]) -> str:
    return (
        f"risk model {med['risk_s']:.1f} s ({med['customers']:.0f} customers scored), "
        f"tension zones {med['zones_s']:.1f} s, a whole escalation run "
        f"{med['escalate_s']:.1f} s ({med['alerts']:.0f} alerts); peak RSS {med['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    harness.main(CODE, report)
