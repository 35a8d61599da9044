"""Risk model, tension zones and one escalation run on the sample company, and the risk
model on a customer snapshot.

Run: ``.venv/bin/python benchmarks/bench_risk.py [--runs 3]``. Each run is a fresh
subprocess (so nothing is cached between runs) that loads ``sample_data/`` (not timed) and
times the risk model (feature snapshots, both models, calibration, permutation importance,
scoring), a second training (whose probabilities must be bit-identical), the tension zones,
and a whole ``escalate`` evaluation (which reuses neither); then a telco-shaped snapshot of
7,043 customers (written as CSV and loaded, not timed) through the snapshot mode
(cross-validation of both models, the final fit, importance and reasons).
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: the script folder is on sys.path

CODE = """
import datetime as dt, json, time
from benchmarks.harness import peak_mb
from analytics.io import load_path
from analytics.escalation import Rules, evaluate, inputs_for
from analytics.risk import train
from analytics.tension import zones
import pathlib, tempfile
import numpy as np
ds = load_path("sample_data")
t = time.perf_counter(); model = train(ds); risk_s = time.perf_counter() - t
again = train(ds)
same = np.array_equal(model.scored["p_churn"].to_numpy(), again.scored["p_churn"].to_numpy())
rng = np.random.default_rng(0)
n = 7043
tenure = rng.integers(0, 73, n)
plan = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
charges = rng.uniform(18, 119, n).round(2)
logit = -0.8 - 0.05 * tenure + np.select([plan == "Month-to-month", plan == "Two year"],
                                          [1.2, -1.2], 0.0) + 0.02 * (charges - 60)
churn = rng.random(n) < 1 / (1 + np.exp(-logit))
total = [" " if k == 0 else f"{k * c:.2f}" for k, c in zip(tenure, charges)]  # blanks
lines = ["customerID,tenure,Contract,MonthlyCharges,TotalCharges,Churn"] + [
    f"C{i:05d},{tenure[i]},{plan[i]},{charges[i]},{total[i]},{'Yes' if churn[i] else 'No'}"
    for i in range(n)]
folder = pathlib.Path(tempfile.mkdtemp())
(folder / "customers.csv").write_text("\\n".join(lines) + "\\n")
snap = load_path(folder)
t = time.perf_counter(); snapshot = train(snap); snapshot_s = time.perf_counter() - t
t = time.perf_counter(); found = zones(ds); zones_s = time.perf_counter() - t
t = time.perf_counter()
run = evaluate(Rules.default(), inputs_for(ds), {}, dt.datetime(2026, 1, 1))
escalate_s = time.perf_counter() - t
print(json.dumps({"risk_s": risk_s, "zones_s": zones_s, "escalate_s": escalate_s,
                  "customers": model.scored.height, "alerts": len(run.alerts),
                  "identical": float(same), "snapshot_s": snapshot_s,
                  "snapshot_auc": max(v.roc_auc for v in snapshot.validations),
                  "peak_mb": peak_mb()}))
"""


def report(med: dict[str, float]) -> str:
    return (
        f"risk model {med['risk_s']:.1f} s ({med['customers']:.0f} customers scored), "
        f"tension zones {med['zones_s']:.1f} s, a whole escalation run "
        f"{med['escalate_s']:.1f} s ({med['alerts']:.0f} alerts); "
        f"peak RSS {med['peak_mb']:.0f} MB; "
        f"a second training {'identical' if med['identical'] == 1 else 'DIFFERENT'}; "
        f"a 7,043-customer snapshot {med['snapshot_s']:.1f} s (ROC AUC {med['snapshot_auc']:.3f})"
    )


if __name__ == "__main__":
    harness.main(CODE, report)
