"""The compatibility rules hold for every record, field and enum symbol, not just examples."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import compat, loader

TYPES = loader.read_named_types(loader.AVSC_DIR)
RECORDS = sorted(n for n, s in TYPES.items() if s["type"] == "record")
ENUMS = sorted(n for n, s in TYPES.items() if s["type"] == "enum")


def problems(name: str, changed: dict[str, dict[str, Any]]) -> list[str]:
    old = loader.build(name, TYPES)
    new = loader.build(name, changed)
    return compat.structural_problems(old, new) + compat.resolution_problems(old, new)


def uses(record: str, named: str) -> bool:
    return f'"{named}"' in loader.build(record, TYPES).canonical


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_removing_a_field_without_default_always_fails(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(RECORDS))
    required = [f["name"] for f in TYPES[name]["fields"] if "default" not in f]
    if not required:
        return
    dropped = data.draw(st.sampled_from(required))
    changed = copy.deepcopy(TYPES)
    changed[name]["fields"] = [f for f in changed[name]["fields"] if f["name"] != dropped]
    found = problems(name, changed)
    assert any(f"{dropped}: field removed" in p for p in found), found
    assert any("old readers cannot read new data (fastavro" in p for p in found), found


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(RECORDS), optional=st.sampled_from(["string", "long", "boolean"]))
def test_adding_an_optional_field_with_default_always_passes(name: str, optional: str) -> None:
    changed = copy.deepcopy(TYPES)
    changed[name]["fields"].append(
        {"name": "added_later", "type": ["null", optional], "default": None, "doc": "x."}
    )
    assert problems(name, changed) == []


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_renaming_an_enum_symbol_fails_for_every_record_using_it(data: st.DataObject) -> None:
    enum_name = data.draw(st.sampled_from(ENUMS))
    users = [r for r in RECORDS if uses(r, enum_name)]
    if not users:
        return
    record = data.draw(st.sampled_from(users))
    symbol = data.draw(st.sampled_from(TYPES[enum_name]["symbols"]))
    changed = copy.deepcopy(TYPES)
    changed[enum_name]["symbols"] = [
        f"{s}_renamed" if s == symbol else s for s in changed[enum_name]["symbols"]
    ]
    found = problems(record, changed)
    assert any(f"lost symbol(s) {symbol} (renamed to {symbol}_renamed?)" in p for p in found)
    assert any("new readers cannot read old data" in p for p in found), found
