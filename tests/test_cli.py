import json

import pytest

from analytics.cli import main
from analytics.store import Store
from tests.conftest import ALERT_KEYS


def test_generate_then_validate_json(tmp_path, capsys):
    assert (
        main(
            [
                "generate",
                "--customers",
                "200",
                "--months",
                "2",
                "--seed",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["validate", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    events = report["tables"]["events"]
    assert events["rows_read"] == events["rows_loaded"] > 0
    assert events["rows_quarantined"] == 0 and events["reasons"] == {}
    assert set(report["tables"]) == {"events", "customers", "acd", "surveys"}
    assert report["errors"] == []


def test_validate_single_file_with_quarantine(tmp_path, capsys):
    csv = tmp_path / "calls.csv"
    csv.write_text(
        "case_id;timestamp;activity;wait_s\nA;2024-01-01 10:00;x;5\nB;2024-01-01 10:00;x;-5\n",
        encoding="utf-8",
    )
    assert main(["validate", str(csv), "--quarantine", str(tmp_path / "q")]) == 0
    out = capsys.readouterr().out
    assert "events: 2 rows read, 1 loaded, 1 quarantined  (calls.csv)" in out
    assert "       1  wait_s: negative" in out
    assert (tmp_path / "q" / "events_quarantine.csv").read_bytes().decode("utf-8-sig").splitlines()[
        1
    ] == ("calls.csv;3;wait_s: negative;B;2024-01-01 10:00;x;-5")


def test_unusable_input_exits_non_zero_naming_file_and_column(tmp_path, capsys):
    csv = tmp_path / "export.csv"
    csv.write_text("case_id,activity\nA,x\n", encoding="utf-8")
    assert main(["validate", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "error: export.csv: as events it lacks timestamp (when the step started)" in out


def test_bad_mapping_file_is_an_error_not_a_traceback(tmp_path, capsys):
    mapping = tmp_path / "m.toml"
    mapping.write_text("[orders]\n", encoding="utf-8")
    assert main(["validate", str(tmp_path), "--mapping", str(mapping)]) == 1
    assert "error: mapping: unknown table [orders]" in capsys.readouterr().err


MISSION = [
    "economics",
    "--customers",
    "40000",
    "--ltv",
    "37800",
    "--churn-from",
    "0.03",
    "--churn-to",
    "0.05",
]


def test_economics_json_reproduces_the_mission(capsys):
    argv = [*MISSION, "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["extra_customers_per_month"] == 800
    assert result["revenue_lost_per_month"] == 30_240_000
    assert result["extra_customers_per_year"] == 9_600
    assert result["revenue_lost_per_year"] == 362_880_000
    assert round(result["cohort"]["extra_customers"]) == 6139
    assert len(result["cohort"]["projection"]) == 12
    assert result["ltv_effect"]["ltv_ratio"] == 0.6


def test_economics_text_and_bad_input(capsys):
    assert main([*MISSION, "--months", "6"]) == 0
    out = capsys.readouterr().out
    assert "future revenue lost:  30,240,000 a month, 362,880,000 a year" in out
    assert "Closed cohort over 6 months" in out
    assert (
        main(
            [
                "economics",
                "--customers",
                "1",
                "--ltv",
                "1",
                "--churn-from",
                "3",
                "--churn-to",
                "0.05",
            ]
        )
        == 1
    )
    assert "churn_from must be a monthly share in [0, 1), got 3.0" in capsys.readouterr().err


PURE_LOG = (
    "case:concept:name,concept:name,time:timestamp\n"
    "1,a,2024-01-01 10:00\n1,b,2024-01-01 10:00\n2,a,2024-01-01 11:00\n"
    "2,c,2024-01-01 11:05\n1,c,2024-01-01 10:01\n3,a,2024-01-02 09:00\n3,c,2024-01-02 09:30\n"
)


def test_process_variants_and_dfg_on_a_pure_event_log(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text(PURE_LOG, encoding="utf-8")
    assert main(["process", "variants", str(log), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["cases"], result["events"]) == (3, 7)
    assert [v["path"] for v in result["variants"]] == [["a", "c"], ["a", "b", "c"]]
    assert [v["cases"] for v in result["variants"]] == [2, 1]
    assert main(["process", "dfg", str(log), "--json"]) == 0
    edges = {(e["from"], e["to"]): e["count"] for e in json.loads(capsys.readouterr().out)}
    assert edges == {("a", "c"): 2, ("a", "b"): 1, ("b", "c"): 1}


def test_quarantined_rows_are_reported_beside_json_results(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text(PURE_LOG + "c9,a,not a time\n", encoding="utf-8")
    assert main(["process", "variants", str(log), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["events"] == 7  # the bad row is not counted
    assert captured.err == (
        f"note: events: 1 of 8 rows quarantined and left out (`cx-radar validate {log}` lists"
        " them)\n"
    )
    log.write_text(PURE_LOG, encoding="utf-8")
    assert main(["process", "variants", str(log), "--json"]) == 0
    assert capsys.readouterr().err == ""  # nothing to say about a clean load


def test_cost_summary_json(small_dir, capsys):
    assert main(["cost", "summary", str(small_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["currency"] == "RUB"
    assert summary["total_cost"] == pytest.approx(
        sum(s["cost"] for s in summary["by_scenario"]), rel=1e-9
    )
    assert {t["tag"] for t in summary["tags"]} == {
        "channel_hopping",
        "repeat_return",
        "reopen",
        "non_standard",
        "long_approval",
        "bot_loop",
        "ping_pong",
    }
    assert (
        summary["cost_per_case"]["p10"]
        <= summary["cost_per_case"]["p50"]
        <= summary["cost_per_case"]["p90"]
    )


def test_erlang_json_reproduces_the_worked_example(capsys):
    # Call Centre Helper's example (see tests/test_sla.py): 100 calls, AHT 180 s, 80/20.
    argv = ["erlang", "--calls", "100", "--interval-s", "1800", "--aht-s", "180"]
    assert main([*argv, "--agents", "14", "--target-s", "20", "--goal", "0.8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["traffic_erlangs"] == 10.0
    assert round(out["probability_wait"], 4) == 0.1741
    assert round(out["service_level"], 3) == 0.888
    assert out["agents_needed"] == 14
    assert {"asa_s", "occupancy"} <= set(out)
    assert main([*argv, "--agents", "9", "--json"]) == 0
    over = json.loads(capsys.readouterr().out)
    assert over["overloaded"] is True and over["asa_s"] is None
    assert main([*argv, "--agents", "14", "--goal", "80"]) == 1
    assert "--goal must be a share" in capsys.readouterr().err


def test_forecast_json_on_the_small_company(small_dir, capsys):
    assert main(["forecast", str(small_dir), "--horizon", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["horizon_days"] == 7
    names = {(s["frequency"], s["name"]) for s in out["series"]}
    assert ("intraday", "phone") in names and ("daily", "phone") in names
    phone = next(s for s in out["series"] if s["frequency"] == "intraday")
    assert len(phone["forecast"]) == 7 * 26  # 08:00-21:00 in half hours
    assert {m["model"] for m in phone["metrics"]} == {"seasonal_naive", "weekly_average", "mstl"}
    assert isinstance(out["breach_points"], list)
    assert main(["forecast", str(small_dir), "--horizon", "7"]) == 0
    assert "MASE" in capsys.readouterr().out


def test_escalate_twice_with_state_and_a_webhook(small_dir, tmp_path, capsys, hook):
    url, handler = hook
    received = handler.received
    state, out = tmp_path / "state.json", tmp_path / "alerts.json"
    argv = ["escalate", str(small_dir), "--state", str(state), "--out", str(out), "--webhook", url]
    assert main(argv) == 0
    first = json.loads(out.read_text())
    assert first and {a["status"] for a in first} == {"new"}
    assert all(key in a for a in first for key in ALERT_KEYS)
    csv = (tmp_path / "alerts.csv").read_text(encoding="utf-8-sig")
    assert csv.splitlines()[0].startswith("id;severity;status;zone")
    # One POST per alert to send, in order, each with its idempotency key.
    sent = [a["id"] for a in first if not a["grouped"]]
    assert [r["alerts"][0]["id"] for r in received] == sent
    assert all(r["alerts"][0]["idempotency_key"] for r in received)
    assert f"delivered {len(sent)} alert(s)" in capsys.readouterr().out
    assert main(argv) == 0  # the next scheduled run: nothing new, nothing re-sent
    second = json.loads(out.read_text())
    assert {a["status"] for a in second} == {"ongoing"}
    assert [a["id"] for a in second] == [a["id"] for a in first]
    assert len(received) == len(sent)
    assert "0 new" in capsys.readouterr().out
    # Someone acted on an alert: the store (state.sqlite beside the .json path) keeps it.
    assert main([*argv, "--ack", first[0]["id"]]) == 0
    with Store.open(state) as store:
        assert store.path == tmp_path / "state.sqlite"
        assert store.acks() == [first[0]["id"]]
    assert main(argv) == 0  # kept by runs that acknowledge nothing new
    with Store.open(state) as store:
        assert store.acks() == [first[0]["id"]]
