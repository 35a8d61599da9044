"""The ``cx-radar`` command line: the engine without the app.

Exit status: 0 on success, 1 when the input is unusable (the message names the file,
the column and what was expected), 2 on wrong arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from analytics.dataset import LoadReport
from analytics.io import load_path
from analytics.mapping import Mapping


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
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
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
        print(json.dumps(loss_summary(scenario, loss), ensure_ascii=False, indent=2))
        return 0
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, OSError) as exc:  # bad mapping file, unreadable path: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
