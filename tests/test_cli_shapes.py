"""Every CLI command on every real data shape: a result, or one line saying what it needs.

An unexpected exception would surface as the CLI's last-resort line ("`cmd` failed
(TypeError: ...)"): that is a bug, so the test fails on it as on a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.cli import main

SHAPES = Path(__file__).parent / "data" / "shapes"
COMMANDS = (
    ["validate"],
    ["process", "variants"],
    ["process", "dfg"],
    ["cost", "summary"],
    ["cost", "tags"],
    ["forecast", "--horizon", "7"],
    ["tension"],
    ["risk"],
    ["service-level"],
)
# What each shape lacks for a command: the command must say so and exit 1.
NEEDS = {
    "acd": {"process", "cost", "risk"},
    "customers": {"process", "cost", "service-level", "forecast", "tension"},
    "calls": {"risk"},
    "plain_log": {"service-level", "risk"},
    "status_log": {"service-level", "risk"},
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("shape", sorted(NEEDS))
def test_every_command_on_every_shape(shape, command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # escalation state and outputs stay in the test's folder
    code = main(
        [*command, str(SHAPES / shape), "--json"]
        if command != ["validate"]
        else ["validate", str(SHAPES / shape)]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "failed (" not in err, err
    if command[0] in NEEDS[shape]:
        assert code == 1
        assert err.strip().splitlines()[-1].startswith("error: "), err
    else:
        assert code == 0, err


@pytest.mark.parametrize("shape", sorted(NEEDS))
def test_escalate_on_every_shape(shape, tmp_path, capsys):
    state, out = tmp_path / "state.json", tmp_path / "alerts.json"
    code = main(["escalate", str(SHAPES / shape), "--state", str(state), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "failed (" not in captured.err
    assert out.exists()
