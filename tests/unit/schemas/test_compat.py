"""`ticketstream schemas check`: FULL compatibility against the released versions."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import compat
from schemas.cli import register, run

AVSC = Path(__file__).resolve().parents[3] / "schemas" / "avsc"
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(current .avsc dir, released root with v1 = today's schemas)."""
    current, released = tmp_path / "avsc", tmp_path / "released"
    shutil.copytree(AVSC, current)
    shutil.copytree(AVSC, released / "v1")
    return current, released


def edit(directory: Path, name: str, change: Edit) -> None:
    path = directory / f"{name}.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def check(dirs: tuple[Path, Path]) -> list[str]:
    problems, versions = compat.check(*dirs)
    assert versions == ["v1"]
    return problems


def test_todays_schemas_are_compatible_with_themselves(dirs: tuple[Path, Path]) -> None:
    assert check(dirs) == []


def test_the_repo_passes_its_own_check() -> None:
    assert run(["check"]) == 0


def test_removed_field_without_default_fails(dirs: tuple[Path, Path]) -> None:
    def drop(s: dict[str, Any]) -> None:
        s["fields"] = [f for f in s["fields"] if f["name"] != "customer_id"]

    edit(dirs[0], "TicketOpened", drop)
    problems = check(dirs)
    assert any("TicketOpened.customer_id: field removed" in p for p in problems), problems
    assert any("old readers cannot read new data (fastavro" in p for p in problems), problems


def test_removed_field_with_default_passes(dirs: tuple[Path, Path]) -> None:
    def drop(s: dict[str, Any]) -> None:
        s["fields"] = [f for f in s["fields"] if f["name"] != "customer_tier"]

    edit(dirs[0], "TicketOpened", drop)
    assert check(dirs) == []


def test_changed_field_type_fails(dirs: tuple[Path, Path]) -> None:
    edit(dirs[0], "SlaTimerStarted", lambda s: field(s, "target_seconds").update(type="string"))
    problems = check(dirs)
    assert any(
        "SlaTimerStarted.target_seconds: type changed from long to string" in p for p in problems
    ), problems


def test_changed_logical_type_fails(dirs: tuple[Path, Path]) -> None:
    edit(dirs[0], "SlaTick", lambda s: field(s, "now").update(type="long"))
    problems = check(dirs)
    assert any("type changed from long (timestamp-millis) to long" in p for p in problems)


def test_renamed_enum_symbol_fails(dirs: tuple[Path, Path]) -> None:
    def rename(s: dict[str, Any]) -> None:
        s["symbols"] = ["critical" if x == "urgent" else x for x in s["symbols"]]

    edit(dirs[0], "Priority", rename)
    problems = check(dirs)
    assert any(
        "enum Priority lost symbol(s) urgent (renamed to critical?)" in p for p in problems
    ), problems
    assert any("TicketOpened: new readers cannot read old data" in p for p in problems), problems


def test_added_enum_symbol_without_default_fails(dirs: tuple[Path, Path]) -> None:
    edit(dirs[0], "Channel", lambda s: s["symbols"].append("viber"))
    problems = check(dirs)
    assert any("enum Channel gained symbol(s) viber" in p for p in problems), problems


def test_added_field_with_default_passes(dirs: tuple[Path, Path]) -> None:
    new_field = {"name": "sentiment", "type": ["null", "string"], "default": None, "doc": "x."}
    edit(dirs[0], "ChannelMessageReceived", lambda s: s["fields"].append(new_field))
    assert check(dirs) == []
    assert run(["check", "--avsc", str(dirs[0]), "--released", str(dirs[1])]) == 0


def test_added_field_without_default_fails(dirs: tuple[Path, Path]) -> None:
    new_field = {"name": "sentiment", "type": "string", "doc": "x."}
    edit(dirs[0], "ChannelMessageReceived", lambda s: s["fields"].append(new_field))
    problems = check(dirs)
    assert any("sentiment: field added without a default" in p for p in problems), problems


def test_removed_record_fails(dirs: tuple[Path, Path]) -> None:
    (dirs[0] / "CsatReceived.avsc").unlink()
    assert any("record CsatReceived was removed" in p for p in check(dirs))


def test_missing_doc_and_optional_without_default_fail(dirs: tuple[Path, Path]) -> None:
    def spoil(s: dict[str, Any]) -> None:
        del field(s, "language")["default"]
        field(s, "text")["doc"] = ""

    edit(dirs[0], "ChannelMessageReceived", spoil)
    problems = check(dirs)
    assert "ChannelMessageReceived.text: no doc" in problems
    assert any("ChannelMessageReceived.language: an optional field" in p for p in problems)


def test_cli_exits_1_and_names_the_problem(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    edit(dirs[0], "SlaTick", lambda s: field(s, "partition").update(type="string"))
    assert run(["check", "--avsc", str(dirs[0]), "--released", str(dirs[1])]) == 1
    assert "SlaTick.partition: type changed from long to string" in capsys.readouterr().err


def test_register_adds_the_schemas_command() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["schemas", "check"]).func is not None
