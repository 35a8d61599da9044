"""The ``cx-radar`` command line: the engine without the app.

Exit status: 0 on success, 1 when the input is unusable (the message names the file,
the column and what was expected), 2 on wrong arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from analytics.dataset import Dataset, LoadReport
from analytics.io import load_path
from analytics.mapping import Mapping

if TYPE_CHECKING:
    from analytics.reduce.tables import Reduced


def _mapping(path: str | None) -> Mapping | None:
    if path is None:
        return None
    return Mapping.from_toml(Path(path).read_text(encoding="utf-8"))


def format_report(report: LoadReport) -> str:
    """The load report as plain text, one block per table."""
    lines: list[str] = []
    for name, table in report.tables.items():
        lines.append(
            f"{name}: {table.rows_read} rows read, {table.rows_loaded} loaded, "
            f"{table.rows_quarantined} quarantined  ({', '.join(table.files)})"
        )
        lines.extend(f"    {count:>8}  {reason}" for reason, count in table.reasons.items())
    lines.extend(f"error: {e}" for e in report.errors)
    lines.extend(f"warning: {w}" for w in report.warnings)
    return "\n".join(lines)


def _print_json(value: object) -> int:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from analytics.sample import generate

    company = generate(customers=args.customers, months=args.months, seed=args.seed)
    paths = company.write(args.out)
    for path in paths:
        print(f"wrote {path}")
    print(
        f"{company.events.height} events, {company.customers.height} customers, "
        f"{company.acd.height} ACD intervals, {company.surveys.height} survey answers"
    )
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    dataset = load_path(args.path, _mapping(args.mapping))
    report = dataset.report
    if args.json:
        _print_json(report.to_dict())
    else:
        print(format_report(report))
    if args.quarantine and report.tables:
        from analytics.export import to_csv_bytes

        out = Path(args.quarantine)
        out.mkdir(parents=True, exist_ok=True)
        for name, table in report.tables.items():
            if table.rows_quarantined:
                (out / f"{name}_quarantine.csv").write_bytes(to_csv_bytes(table.quarantine))
    return 0 if report.usable else 1


def _cmd_economics(args: argparse.Namespace) -> int:
    from analytics.economics import ChurnScenario, loss_summary, silent_churn_loss

    scenario = ChurnScenario(
        customers=args.customers,
        ltv=args.ltv,
        churn_from=args.churn_from,
        churn_to=args.churn_to,
        months=args.months,
        monthly_discount=(1 + args.discount) ** (1 / 12) - 1,
    )
    loss = silent_churn_loss(scenario)
    if args.json:
        return _print_json(loss_summary(scenario, loss))
    print(
        f"Churn {scenario.churn_from:.2%} -> {scenario.churn_to:.2%} a month, "
        f"{scenario.customers:,.0f} customers, LTV {scenario.ltv:,.0f}"
    )
    print("Replacement (new customers replace every loss):")
    print(
        f"  extra customers lost: {loss.extra_customers_per_month:,.0f} a month, "
        f"{loss.extra_customers_per_year:,.0f} a year"
    )
    print(
        f"  future revenue lost:  {loss.revenue_lost_per_month:,.0f} a month, "
        f"{loss.revenue_lost_per_year:,.0f} a year"
    )
    print(f"Closed cohort over {scenario.months} months (the base shrinks):")
    print(
        f"  extra customers lost: {loss.cohort_extra_customers:,.0f}; revenue lost: "
        f"{loss.cohort_revenue_lost:,.0f} ({loss.cohort_revenue_lost_discounted:,.0f} discounted)"
    )
    print(f"LTV at the new churn: {loss.ltv_after:,.0f} ({loss.ltv_ratio:.0%} of today's)")
    return 0


NEEDS = {
    "events": "an events table (case, timestamp, activity) or per-call records of known callers",
    "acd": "per-call records or an interval report (offered, answered per interval)",
    "customers": "a customers table (customer id, and churn dates or a churn flag)",
}


def _loaded(args: argparse.Namespace, *needs: str) -> Dataset | None:
    """The dataset at ``args.path``, or ``None`` (with the reason on stderr) when it is
    unusable or has rows in none of the tables ``needs`` names."""
    dataset = load_path(args.path, _mapping(args.mapping))
    if not dataset.report.usable:
        print(format_report(dataset.report), file=sys.stderr)
        return None
    tables = [dataset.table(n) for n in needs]
    if needs and all(t is None or t.is_empty() for t in tables):
        present = ", ".join(n for n, t in dataset.report.tables.items() if t.rows_loaded)
        wanted = " or ".join(NEEDS[n] for n in needs)
        print(f"error: `{args.command}` needs {wanted}; this input has: {present}", file=sys.stderr)
        return None
    # On stderr, so that --json output stays clean: results must not hide dropped rows.
    for name, table in dataset.report.tables.items():
        if table.rows_quarantined:
            print(
                f"note: {name}: {table.rows_quarantined} of {table.rows_read} rows quarantined"
                f" and left out (`cx-radar validate {args.path}` lists them)",
                file=sys.stderr,
            )
    return dataset


def _cmd_variants(args: argparse.Namespace) -> int:
    from analytics.cases import case_steps, case_table
    from analytics.process import variant_paths, variants

    reduced = None if args.scenario else _reduced_only(args)
    dataset = None
    if reduced is None:
        dataset = _loaded(args, "events")
        if dataset is None:
            return 1
        reduced = None if args.scenario else _paths_reduced(dataset)
    if reduced is not None:
        cases, table = reduced.cases, reduced.variants
    elif dataset is not None:
        steps = case_steps(dataset.events)
        cases, paths = case_table(steps), variant_paths(steps)
        if args.scenario:
            cases = cases.filter(pl.col("scenario") == args.scenario)
        table = variants(cases, paths)
    top = table.head(args.top)
    if args.json:
        return _print_json(
            {
                "cases": cases.height,
                "events": int(cases["steps"].sum()),
                "variants": top.select("path", "cases", "share", "median_duration_s").to_dicts(),
            }
        )
    print(f"{cases.height} cases, {table.height} variants")
    for r in top.iter_rows(named=True):
        print(f"{r['cases']:>9}  {r['share']:6.1%}  {r['variant']}")
    return 0


def _paths_reduced(dataset: Dataset) -> Reduced | None:
    """The reduced tables of a folder `cx-radar reduce` wrote, when their paths are the
    events' own (self-loops not collapsed: these commands show every step)."""
    reduced = dataset.reduced_tables()
    return None if reduced is None or reduced.loops.collapsed else reduced


def _reduced_only(args: argparse.Namespace) -> Reduced | None:
    """The reduced tables of the folder `cx-radar reduce` wrote at ``args.path``, read
    without loading its events (a large log need not fit in memory again): when no
    mapping is given, the manifest matches the canonical files and the paths are the
    events' own; None otherwise (the dataset is then loaded)."""
    from analytics.reduce import layout

    if args.mapping or not (Path(args.path) / layout.REDUCED / layout.MANIFEST).is_file():
        return None
    try:
        reduced = layout.read_reduced(args.path)
    except (layout.ReducedError, OSError, pl.exceptions.PolarsError):
        return None  # loaded as a dataset instead, which says what is wrong
    return None if reduced.loops.collapsed else reduced


def _cmd_dfg(args: argparse.Namespace) -> int:
    from analytics.cases import case_steps
    from analytics.process import directly_follows

    reduced = _reduced_only(args)
    if reduced is None:
        dataset = _loaded(args, "events")
        if dataset is None:
            return 1
        reduced = _paths_reduced(dataset)
        edges = reduced.dfg if reduced is not None else directly_follows(case_steps(dataset.events))
    else:
        edges = reduced.dfg
    if args.json:
        return _print_json(
            edges.select(
                pl.col("source").alias("from"),
                pl.col("target").alias("to"),
                "count",
                "cases",
                "median_s",
                "rework_share",
            ).to_dicts()
        )
    for r in edges.iter_rows(named=True):
        print(f"{r['count']:>9}  {r['source']} -> {r['target']}")
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from analytics.cost import case_costs, cost_basis, excess_cost, priciest, tag_costs

    dataset = _loaded(args, "events")
    if dataset is None:
        return 1
    cases = case_costs(dataset)
    tags = tag_costs(cases)
    summary = {
        "currency": dataset.settings.currency,
        "cases": cases.height,
        "cost_basis": cost_basis(dataset.events),
        "total_cost": round(float(cases["cost"].sum()), 2),
        "excess_cost": round(excess_cost(cases), 2),
        "cost_per_case": {
            name: round(float(cases["cost"].quantile(q)), 2)
            for name, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        },
        "by_scenario": cases.group_by("scenario")
        .agg(
            pl.len().alias("cases"),
            pl.col("cost").sum().round(2).alias("cost"),
            pl.col("cost").median().round(2).alias("median_cost"),
        )
        .sort("cost", descending=True)
        .to_dicts(),
        "tags": tags.to_dicts(),
        "priciest": priciest(cases).head(10).to_dicts(),
    }
    if args.json:
        return _print_json(summary)
    print(
        f"{summary['cases']} cases, total service cost {summary['total_cost']:,.0f} "
        f"{summary['currency']}; per case p50 {summary['cost_per_case']['p50']:,.0f}, "
        f"p90 {summary['cost_per_case']['p90']:,.0f}"
    )
    for r in tags.iter_rows(named=True):
        print(f"  {r['tag']:<16} {r['share']:6.1%} of cases, at stake {r['at_stake'] or 0:,.0f}")
    return 0


def _cmd_cost_tags(args: argparse.Namespace) -> int:
    from analytics.cost import CLOSING_STATES, TAGS, cost_view, excess_cost, tag_costs

    dataset = _loaded(args, "events")
    if dataset is None:
        return 1
    collapse = {"auto": None, "on": True, "off": False}[args.collapse]
    closing = [c for c in args.closing.split(",") if c.strip()] if args.closing else CLOSING_STATES
    view = cost_view(dataset, collapse, closing)
    cases = view.cases
    rows = {r["tag"]: r for r in tag_costs(cases).iter_rows(named=True)}
    out = {
        "cases": cases.height,
        "cost_basis": view.basis,  # "estimated": from the rates alone, no measured time or cost
        "total_cost": round(float(cases["cost"].sum()), 2),
        "excess_cost": round(excess_cost(cases), 2),  # each case once, however many tags
        "self_loops": {"share": round(view.loops.share, 4), "collapsed": view.loops.collapsed},
        "tags": {
            tag: {
                "cases": rows[tag]["cases"],
                "share": round(rows[tag]["share"], 6),
                "extra_cost": round(float(rows[tag]["at_stake"] or 0.0), 2),
            }
            for tag in TAGS
        },
    }
    if args.json:
        return _print_json(out)
    basis = " (estimated from the rates)" if view.basis == "estimated" else ""
    print(
        f"{out['cases']} cases; cost{basis} {out['total_cost']:,.0f}, of which excess "
        f"{out['excess_cost']:,.0f} (each case once)"
    )
    if view.loops.collapsed:
        print(f"runs of same-state updates collapsed ({view.loops.share:.0%} of transitions)")
    for tag, r in out["tags"].items():
        print(f"  {tag:<16} {r['share']:6.1%} of cases, extra cost {r['extra_cost']:,.0f}")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from analytics.calibration import calibrate
    from analytics.forecast import breaches, forecast_all
    from analytics.sla import breach_points, has_staffing, report_until

    dataset = _loaded(args, "events", "acd")
    if dataset is None:
        return 1
    run = forecast_all(
        dataset, args.horizon, level=args.level, country=args.country, as_of=args.as_of
    )
    series = run.daily + run.intraday
    settings = dataset.settings
    calibration = (
        calibrate(
            report_until(dataset.acd, run.as_of),  # type: ignore[arg-type]
            run.interval_s,
            settings.sla_target_s,
            settings.sla_goal,
        )
        if has_staffing(dataset.acd) and run.as_of is not None
        else None
    )
    found = breaches(run, dataset, calibration)
    points = breach_points(found, top=args.top) if found is not None else pl.DataFrame()
    if found is None:
        calibration = None  # no breach forecast, nothing calibrated
    if args.json:
        return _print_json(
            {
                "horizon_days": run.horizon_days,
                "level": run.level,
                "country": run.country,
                "interval_s": run.interval_s,
                "series": [s.to_dict() for s in series],
                "breach_points": points.drop("slot", strict=False).to_dicts(),
                "calibration": calibration.to_dict() if calibration else None,
            }
        )
    print(f"{run.horizon_days}-day forecast, {run.level:.0%} intervals, holidays of {run.country}")
    for s in series:
        m = {r["model"]: r for r in s.metrics.to_dicts()}
        total = s.forecast["mean"].sum()
        print(
            f"{s.frequency:>8}  {s.name:<14} {s.model:<15} MASE {m[s.model]['mase']:.3f} "
            f"(seasonal naive {m['seasonal_naive']['mase']:.3f})  "
            f"sMAPE {m[s.model]['smape']:.1f} %  "
            f"total {total:,.0f}"
        )
        for note in s.notes:
            print(f"          note: {note}")
    if calibration is not None:
        c = calibration.calibrated
        print(
            f"SLA calibration: {calibration.status}"
            + (
                f", out of sample on {c.intervals} intervals: MAE {c.mae:.3f}, bias "
                f"{c.bias:+.3f}, Brier {c.brier:.3f} (constant {c.constant_brier:.3f})"
                if c.intervals
                else ""
            )
        )
    if points.height:
        print("likeliest SLA breaches:")
        for r in points.iter_rows(named=True):
            print(
                f"  {r['time']:%Y-%m-%d %a %H:%M} {r['queue']}: P {r['p_breach']:.0%}, "
                f"{r['mean']:.1f} calls, SL {r['predicted_sl']:.0%} with {r['agents']:.0f} "
                f"agents, {r['agents_needed']:.0f} needed"
            )
    elif run.intraday:
        print("no interval is likelier than not to breach the SLA goal")
    return 0


def _cmd_service_level(args: argparse.Namespace) -> int:
    from analytics.calls import interval_report, service_level
    from analytics.sla import realized

    dataset = _loaded(args)
    if dataset is None:
        return 1
    settings = dataset.settings
    target_s = settings.sla_target_s if args.target_s is None else args.target_s
    if dataset.calls is not None:
        interval_min = args.interval_min or settings.interval_min
        report = interval_report(dataset.calls, interval_min, target_s, settings.short_abandon_s)
        basis = f"per-call records, {interval_min:g}-minute intervals, target {target_s:g} s"
    elif dataset.acd is not None:
        report = dataset.acd
        basis = "the interval report as exported (its own target and interval)"
    else:
        print(
            "error: service level needs per-call records or an interval report; this input "
            "has neither",
            file=sys.stderr,
        )
        return 1
    totals = service_level(report)
    rows = realized(report).sort("interval_start", "queue")
    if args.json:
        return _print_json(
            {
                **totals.to_dict(),
                "basis": basis,
                "intervals": rows.select(
                    "interval_start",
                    "queue",
                    "offered",
                    "answered",
                    "abandoned",
                    "answered_in_target",
                    "aht_s",
                    "agents",
                    "service_level",
                ).to_dicts(),
            }
        )
    print(f"Service level from {basis}:")
    for key, value in totals.to_dict().items():
        shown = "n/a" if value is None else f"{value:,.4g}" if isinstance(value, float) else value
        print(f"{key:>14}: {shown}")
    print(f"{rows.height} intervals")
    return 0


def _cmd_erlang(args: argparse.Namespace) -> int:
    import numpy as np

    from analytics.sla import agents_needed, erlang_c

    result = erlang_c(args.calls, args.interval_s, args.aht_s, args.agents, args.target_s)
    out: dict[str, object] = result.to_dict()
    if args.goal is not None:
        if not 0 < args.goal < 1:
            raise ValueError("--goal must be a share between 0 and 1, e.g. 0.8")
        needed = agents_needed(
            np.array([result.traffic_erlangs]), args.aht_s, args.target_s, args.goal
        )
        out["goal"] = args.goal
        out["agents_needed"] = int(needed[0])
    if args.json:
        return _print_json(out)
    for key, value in out.items():
        print(f"{key:>16}: {value}")
    if result.overloaded:
        print("overloaded: traffic is at or above the agents; the queue grows without bound")
    return 0


def _cmd_escalate(args: argparse.Namespace) -> int:
    import datetime as dt

    from analytics.escalation import Rules, alerts_frame, deliver, inputs_for, record_run
    from analytics.export import to_csv_bytes
    from analytics.store import Store

    rules = (
        Rules.from_toml(Path(args.rules).read_text(encoding="utf-8"))
        if args.rules
        else Rules.default()
    )
    # The store first: a damaged or foreign state file stops the run before the evaluation.
    with Store.open(args.state) as store:
        dataset = _loaded(args)
        if dataset is None:
            return 1
        now = dt.datetime.now().replace(microsecond=0)
        queue = bool(args.webhook)
        run = record_run(store, rules, inputs_for(dataset), now, args.ack or [], queue=queue)
        out = Path(args.out)
        out.write_text(
            json.dumps(run.alerts, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        out.with_suffix(".csv").write_bytes(to_csv_bytes(alerts_frame(run.alerts)))
        counts = {
            s: sum(a["status"] == s for a in run.alerts) for s in ("new", "ongoing", "resolved")
        }
        grouped = sum(a["grouped"] for a in run.alerts)
        print(
            f"{len(run.alerts)} alerts: {counts['new']} new, {counts['ongoing']} ongoing, "
            f"{counts['resolved']} resolved; {grouped} grouped over the owners' budgets; "
            f"{len(run.to_act_on)} to act on. "
            f"Wrote {out} and {out.with_suffix('.csv')}; state in {store.path}"
        )
        for r in run.precision.filter(pl.col("precision").is_not_null()).iter_rows(named=True):
            print(f"precision of {r['rule']}: {r['precision']:.0%} of {r['alerts']} ({r['basis']})")
        if not args.webhook:
            return 0
        sent = deliver(args.webhook, store, retries=args.retries)
        if sent.pending:  # never "delivered" unless a 2xx said so
            print(
                f"warning: {sent.delivered} alert(s) delivered; {sent.pending} not acknowledged "
                f"by the webhook ({sent.failed_attempts} failed attempt(s), see the delivery "
                f"log) stay in the outbox of {store.path} for the next run",
                file=sys.stderr,
            )
            return 3
        print(f"delivered {sent.delivered} alert(s), each acknowledged by a 2xx; outbox empty")
        return 0


def _cmd_tension(args: argparse.Namespace) -> int:
    from analytics.tension import parse_baseline, severity_text, zones

    baseline = parse_baseline(args.baseline) if args.baseline else None
    dataset = _loaded(args, "events", "acd")
    if dataset is None:
        return 1
    table = zones(dataset, baseline=baseline)
    found = table.filter(pl.col("zone")).to_dicts() if table.height else []
    currency = dataset.settings.currency
    listed = [
        {
            "indicator": z["indicator"],
            "slice": z["slice"],
            "value": z["value"],
            "frequency": z["frequency"],
            "start": z["started"],
            "first_alarm": z["first_alarm"],
            "severity": severity_text(z, currency),
            "money_at_stake": None if z["money_at_stake"] is None else round(z["money_at_stake"]),
            "baseline_period": [z["baseline_start"], z["baseline_end"]],
            "baseline": z["baseline"],
            "recent": z["recent"],
            "relative_change": z["relative_change"],
            "excess_per_month": z["excess_per_month"],
            "shift_sd": round(z["severity"], 2),
            "mann_kendall_p": z["p_value"],
        }
        for z in found
    ]
    if args.json:
        return _print_json({"currency": currency, "series": table.height, "zones": listed})
    print(f"{len(listed)} zones of growing tension among {table.height} series charted")
    if not table.height:
        print("(a series needs a baseline of 4 weeks or 14 days of data and a period after it)")
    for z in listed:
        print(
            f"  {z['slice']} {z['value']}, {'daily' if z['frequency'] == 'day' else 'weekly'}: "
            f"{z['severity']}; "
            f"started {z['start']}, first alarm {z['first_alarm']}"
        )
    return 0


def _cmd_risk(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from analytics.measures import fsum, revenue_at_risk
    from analytics.risk import at_risk, train

    dataset = _loaded(args)
    if dataset is None:
        return 1
    model = train(dataset)
    scored = model.scored
    chosen = [asdict(v) for v in model.validations if v.model == model.method]
    top = at_risk(scored).head(args.top)
    out = {
        "mode": model.mode,
        "model": model.method,
        "validation": {k: v for k, v in chosen[0].items() if k != "model"} if chosen else None,
        "candidates": [asdict(v) for v in model.validations],
        "split": model.split,
        "base_rate": model.base_rate,
        "customers_scored": scored.height,
        "expected_leavers": fsum(scored["p_churn"]),
        "ltv_churn": model.ltv_churn,
        "revenue_at_risk": revenue_at_risk(scored) if model.ltv_churn else None,
        "revenue_at_risk_month": fsum(scored["revenue_at_risk_month"]),
        "notes": [n.text for n in model.notes],
        "at_risk": top.select("customer_id", "p_churn", "revenue_at_risk", "reasons").to_dicts(),
    }
    if args.json:
        return _print_json(out)
    print(f"mode {model.mode}, model {model.method}; {scored.height} active customers scored")
    for v in model.validations:
        print(
            f"  {v.model:<9} ROC AUC {v.roc_auc:.3f}  PR AUC {v.pr_auc:.3f}  "
            f"Brier {v.brier:.4f}  top-decile lift {v.top_decile_lift:.2f}"
        )
    money = out["revenue_at_risk"]
    print(
        f"expected leavers {out['expected_leavers']:,.0f}; revenue at risk "
        + (f"{money:,.0f}" if money is not None else "unknown (no churn history for LTV)")
        + f"; a month {out['revenue_at_risk_month']:,.0f} {dataset.settings.currency}"
    )
    for note in out["notes"]:
        print(f"note: {note}")
    for r in out["at_risk"]:
        print(f"  {r['customer_id']:<14} P {r['p_churn']:.0%}  {'; '.join(r['reasons'])}")
    return 0


def _cmd_reduce(args: argparse.Namespace) -> int:
    from analytics.reduce.run import check_out, reduce_canonical, reduce_loaded

    out = Path(args.out)
    collapse = {"auto": None, "on": True, "off": False}[args.collapse]
    closing = [c for c in args.closing.split(",") if c.strip()] if args.closing else None
    options = {"collapse": collapse, **({"closing": closing} if closing else {})}
    if args.engine == "polars" and args.parts <= 1:
        check_out(Path(args.path), out)
        dataset = _loaded(args)
        if dataset is None:
            return 1
        run = reduce_loaded(dataset, out, **options)
    else:
        if args.mapping:
            print(
                "error: --mapping applies to the loader: reduce with the polars engine "
                "first, then reduce its OUT",
                file=sys.stderr,
            )
            return 2
        run = reduce_canonical(
            Path(args.path), out, args.engine, args.parts, args.master, **options
        )
    if args.json:
        return _print_json({"out": str(out), **run.__dict__})
    loops = f"{run.self_loops:.0%} self-loops" + (", collapsed" if run.collapsed else "")
    print(f"{run.engine}: reduced into {out}/reduced in {run.seconds:.1f} s ({loops})")
    for name, rows in run.rows.items():
        print(f"  {name:<10} {rows:>12,} rows")
    return 0


def _with_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a folder, a zip, or a single events file")
    parser.add_argument("--mapping", help="column mapping TOML")
    parser.add_argument("--json", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx-radar", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the synthetic sample company as Parquet")
    gen.add_argument("--customers", type=int, default=40_000)
    gen.add_argument("--months", type=int, default=12)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", default="sample_data")
    gen.set_defaults(run=_cmd_generate)
    val = sub.add_parser("validate", help="load exports and print the load report")
    val.add_argument("path", help="a folder, a zip, or a single events file")
    val.add_argument("--mapping", help="column mapping TOML")
    val.add_argument("--json", action="store_true", help="machine-readable report")
    val.add_argument("--quarantine", metavar="DIR", help="write quarantined rows as CSV here")
    val.set_defaults(run=_cmd_validate)
    eco = sub.add_parser("economics", help="what a rise in monthly churn costs")
    eco.add_argument("--customers", type=float, required=True, help="active customers")
    eco.add_argument("--ltv", type=float, required=True, help="lifetime value per customer")
    eco.add_argument(
        "--churn-from", type=float, required=True, help="baseline monthly churn, e.g. 0.03"
    )
    eco.add_argument(
        "--churn-to", type=float, required=True, help="current monthly churn, e.g. 0.05"
    )
    eco.add_argument("--months", type=int, default=12, help="cohort horizon (default 12)")
    eco.add_argument("--discount", type=float, default=0.0, help="annual discount rate, e.g. 0.15")
    eco.add_argument("--json", action="store_true")
    eco.set_defaults(run=_cmd_economics)
    process = sub.add_parser("process", help="process variance").add_subparsers(
        dest="process_command", required=True
    )
    var = process.add_parser("variants", help="the distinct paths, most frequent first")
    _with_path(var)
    var.add_argument("--scenario")
    var.add_argument("--top", type=int, default=20)
    var.set_defaults(run=_cmd_variants)
    dfg = process.add_parser("dfg", help="the directly-follows graph")
    _with_path(dfg)
    dfg.set_defaults(run=_cmd_dfg)
    cost = sub.add_parser("cost", help="cost to serve").add_subparsers(
        dest="cost_command", required=True
    )
    summary = cost.add_parser("summary", help="cost per case, scenario and behaviour")
    _with_path(summary)
    summary.set_defaults(run=_cmd_cost)
    tagged = cost.add_parser("tags", help="behaviour tags: cases, share and extra cost")
    _with_path(tagged)
    tagged.add_argument(
        "--collapse",
        choices=("auto", "on", "off"),
        default="auto",
        help="one step per run of same-state updates (auto: when over 20 %% of transitions)",
    )
    tagged.add_argument(
        "--closing", help="closing states, comma-separated (default: resolved, closed and Russian)"
    )
    tagged.set_defaults(run=_cmd_cost_tags)

    fc = sub.add_parser("forecast", help="volume forecasts, backtest and SLA breach points")
    _with_path(fc)
    fc.add_argument("--horizon", type=int, default=14, help="days ahead (default 14)")
    fc.add_argument("--level", type=float, default=0.8, help="interval level (default 0.8)")
    fc.add_argument("--country", help="holiday calendar, ISO code (default: settings, RU)")
    fc.add_argument(
        "--top", type=int, default=10, help="breach points to list (0: every future interval)"
    )
    fc.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="use history up to this day (YYYY-MM-DD, inclusive) and forecast the days after",
    )
    fc.set_defaults(run=_cmd_forecast)

    sl = sub.add_parser(
        "service-level", help="service level, ASA, AHT and abandonment per interval and in total"
    )
    _with_path(sl)
    sl.add_argument(
        "--interval-min",
        type=int,
        choices=(5, 10, 15, 30, 60),
        help="interval length for per-call records (default: settings, 30)",
    )
    sl.add_argument("--target-s", type=float, help="target answer time, s (default: settings, 20)")
    sl.set_defaults(run=_cmd_service_level)

    erl = sub.add_parser("erlang", help="Erlang C for one interval")
    erl.add_argument("--calls", type=float, required=True, help="calls offered in the interval")
    erl.add_argument("--interval-s", type=float, default=1800.0, help="interval length, s")
    erl.add_argument("--aht-s", type=float, required=True, help="average handling time, s")
    erl.add_argument("--agents", type=float, required=True)
    erl.add_argument("--target-s", type=float, default=20.0, help="target answer time, s")
    erl.add_argument("--goal", type=float, help="service-level goal, e.g. 0.8: adds agents_needed")
    erl.add_argument("--json", action="store_true")
    erl.set_defaults(run=_cmd_erlang)

    esc = sub.add_parser("escalate", help="evaluate escalation rules; write and send alerts")
    _with_path(esc)
    esc.add_argument("--rules", help="rules TOML (default: the built-in analytics/rules.toml)")
    esc.add_argument(
        "--state",
        default="cx_radar_state.sqlite",
        help="SQLite state store (alert history, acks, outbox, delivery log); a .json path "
        "means the .sqlite beside it, into which that JSON state is imported once",
    )
    esc.add_argument("--out", default="alerts.json", help="alerts JSON (a .csv is written too)")
    esc.add_argument("--webhook", help="POST new alerts here as JSON")
    esc.add_argument(
        "--ack", action="append", metavar="ID", help="mark an alert actioned (repeatable)"
    )
    esc.add_argument(
        "--retries",
        type=int,
        default=4,
        help="delivery attempts per alert (back-off 1, 2, 4 s); exit code 3 when some alert "
        "was not acknowledged by a 2xx and stays in the outbox",
    )
    esc.set_defaults(run=_cmd_escalate)

    ten = sub.add_parser("tension", help="zones of growing tension, service indicators included")
    _with_path(ten)
    ten.add_argument(
        "--baseline",
        metavar="START:END",
        help="baseline dates, e.g. 1999-01-01:1999-01-31 (default: the first weeks)",
    )
    ten.set_defaults(run=_cmd_tension)

    risk = sub.add_parser("risk", help="churn risk: model, validation, revenue at risk")
    _with_path(risk)
    risk.add_argument("--top", type=int, default=10, help="riskiest customers to list")
    risk.set_defaults(run=_cmd_risk)
    red = sub.add_parser(
        "reduce",
        help="the tables the app works on (cases, variants, DFG, tags, intervals) into OUT",
    )
    _with_path(red)
    red.add_argument("out", help="folder to write: canonical Parquet tables and reduced/")
    red.add_argument(
        "--engine",
        choices=("polars", "spark"),
        default="polars",
        help="polars (embedded, default) or spark (INPUT: canonical Parquet, as polars writes)",
    )
    red.add_argument(
        "--parts",
        type=int,
        default=1,
        help="polars: split the cases by a hash into this many parts, each reduced in memory "
        "(INPUT: canonical Parquet); for logs larger than memory",
    )
    red.add_argument(
        "--master", default="local[2]", help="spark: the master URL (default local[2])"
    )
    red.add_argument("--collapse", choices=("auto", "on", "off"), default="auto")
    red.add_argument("--closing", help="closing states, comma-separated")
    red.set_defaults(run=_cmd_reduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # the reader (e.g. `head`) stopped early: nothing to report
        return 0
    except (ValueError, OSError) as exc:  # bad mapping file, unreadable path: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a fault of ours: still one line, never a traceback
        print(
            f"error: `{args.command}` failed ({type(exc).__name__}: {exc}); please report it "
            "with the command line",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
