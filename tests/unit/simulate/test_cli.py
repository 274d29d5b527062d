"""``ticketstream simulate``: the command is registered, checks its arguments, and plans a run
without any service (``--plan-only``)."""

from __future__ import annotations

import pytest

from ticketstream.cli import main


def test_plan_only_prints_the_runs_volumes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--plan-only", "--days", "0.25", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "tesco × 0.25 d" in out and "tickets (expected" in out
    assert "by channel:" in out and "line" in out
    assert "breaches:" in out and "first_reply_time" in out


def test_bad_arguments_are_refused_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--plan-only", "--days", "0"]) == 2
    assert "days=0.0" in capsys.readouterr().err
    assert main(["simulate", "--plan-only", "--run-tag", "not-hex"]) == 2
    assert "run_tag" in capsys.readouterr().err
    assert main(["simulate", "--plan-only", "--start", "2026-11-16T00:00:00"]) == 2
    assert "tz-aware" in capsys.readouterr().err


def test_running_without_a_token_says_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKETSTREAM_SIMULATE_TOKEN", raising=False)
    assert main(["simulate", "--days", "0.1", "--token", ""]) == 2
    assert "admin API token" in capsys.readouterr().err
