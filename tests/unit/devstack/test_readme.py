"""README.md documents every setting and the two quick-start commands."""

from __future__ import annotations

from ticketstream.devstack import docs
from ticketstream.settings import ENV_PREFIX, REPO_ROOT, Settings


def test_settings_table_matches_settings() -> None:
    text = docs.README.read_text()
    assert docs.render(text) == text, "run `python -m ticketstream.devstack.docs` to regenerate"
    for name in Settings.model_fields:
        assert f"`{ENV_PREFIX}{name.upper()}`" in text


def test_quick_start_is_make_demo_and_make_test() -> None:
    text = docs.README.read_text()
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.split("```")[1].strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
