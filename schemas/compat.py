"""FULL compatibility of the current schemas against every released version kept in the repo.

FULL = old readers read new data (forward) AND new readers read old data (backward). Two
independent checks, both must pass:

1. Structural rules on the schemas: a field removed without a default, a field added without a
   default, a changed type (including a logical type or a union's branches), an enum symbol
   removed or renamed (or added, unless the old enum has a ``default``), a renamed record.
2. Avro schema resolution with fastavro on generated sample data, both directions: write with
   the old schema and read with the new one, and the reverse.

Plus the house rules every schema must keep: a ``doc`` on every record, enum and field,
namespace ``support.v1``, and a ``null`` default on every optional field.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas import loader

NAMED = ("record", "error", "enum", "fixed")


# --------------------------------------------------------------------------- named types
def _collect(schema: Any, names: dict[str, dict[str, Any]], namespace: str) -> None:
    """Every named type defined in an expanded schema: full name → definition."""
    if isinstance(schema, list):
        for branch in schema:
            _collect(branch, names, namespace)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in NAMED:
            ns = schema.get("namespace", namespace)
            names.setdefault(loader.full_name(schema["name"], ns), schema)
            for f in schema.get("fields", ()):
                _collect(f["type"], names, ns)
        elif kind == "array":
            _collect(schema["items"], names, namespace)
        elif kind == "map":
            _collect(schema["values"], names, namespace)
        elif isinstance(kind, (dict, list)):
            _collect(kind, names, namespace)


def _names(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names: dict[str, dict[str, Any]] = {}
    _collect(schema, names, loader.NAMESPACE)
    return names


def _resolve(schema: Any, names: dict[str, dict[str, Any]]) -> Any:
    """Follow a name reference; unwrap ``{"type": "string"}`` to ``"string"``."""
    if isinstance(schema, str):
        if schema in loader.PRIMITIVES:
            return schema
        return names[loader.full_name(schema)]
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, (dict, list)):
            return _resolve(kind, names)
        if kind in loader.PRIMITIVES and "logicalType" not in schema:
            return kind
    return schema


def _describe(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "[" + ", ".join(_describe(b) for b in schema) + "]"
    kind = schema.get("type")
    if kind in NAMED:
        return f"{kind} {schema['name']}"
    if kind == "array":
        return f"array<{_describe(schema['items'])}>"
    if kind == "map":
        return f"map<{_describe(schema['values'])}>"
    if "logicalType" in schema:
        return f"{kind} ({schema['logicalType']})"
    return str(kind)


def _branch_key(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    kind = schema.get("type")
    if kind in NAMED:
        return loader.full_name(schema["name"], schema.get("namespace", loader.NAMESPACE))
    if "logicalType" in schema:
        return f"{kind}:{schema['logicalType']}"
    return str(kind)


# --------------------------------------------------------------------------- structural rules
class _Structural:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old_names = _names(old)
        self.new_names = _names(new)
        self.problems: list[str] = []
        self._done: set[tuple[str, str]] = set()

    def compare(self, old: Any, new: Any, path: str) -> None:
        old = _resolve(old, self.old_names)
        new = _resolve(new, self.new_names)
        if isinstance(old, list) or isinstance(new, list):
            self._union(old, new, path)
            return
        old_kind = old if isinstance(old, str) else old.get("type")
        new_kind = new if isinstance(new, str) else new.get("type")
        if old_kind != new_kind or _branch_key(old) != _branch_key(new):
            self.problems.append(
                f"{path}: type changed from {_describe(old)} to {_describe(new)} "
                "(readers of one cannot read the other)"
            )
            return
        if old_kind in ("record", "error"):
            key = (_branch_key(old), path)
            if key not in self._done:
                self._done.add(key)
                self._record(old, new, path)
        elif old_kind == "enum":
            self._enum(old, new, path)
        elif old_kind == "array":
            self.compare(old["items"], new["items"], f"{path}[]")
        elif old_kind == "map":
            self.compare(old["values"], new["values"], f"{path}{{}}")
        elif old_kind == "fixed" and old.get("size") != new.get("size"):
            self.problems.append(f"{path}: fixed size changed {old['size']} → {new['size']}")

    def _record(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        new_by_name: dict[str, dict[str, Any]] = {}
        for f in new["fields"]:
            new_by_name[f["name"]] = f
            for alias in f.get("aliases", ()):
                new_by_name.setdefault(alias, f)
        old_names = {f["name"] for f in old["fields"]}
        for f in old["fields"]:
            match = new_by_name.get(f["name"])
            where = f"{path}.{f['name']}"
            if match is None:
                if "default" not in f:
                    self.problems.append(
                        f"{where}: field removed, and it had no default in the released "
                        "schema, so old readers cannot read new data; keep the field "
                        "(deprecate it in its doc) instead"
                    )
                continue
            self.compare(f["type"], match["type"], where)
        for f in new["fields"]:
            known = f["name"] in old_names or any(a in old_names for a in f.get("aliases", ()))
            if not known and "default" not in f:
                self.problems.append(
                    f"{path}.{f['name']}: field added without a default, so new readers "
                    "cannot read old data; give it a default (null for an optional field)"
                )

    def _enum(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_symbols, new_symbols = list(old["symbols"]), list(new["symbols"])
        removed = [s for s in old_symbols if s not in new_symbols]
        added = [s for s in new_symbols if s not in old_symbols]
        name = old["name"]
        if removed and "default" not in new:
            renamed = f" (renamed to {', '.join(added)}?)" if added else ""
            self.problems.append(
                f"{path}: enum {name} lost symbol(s) {', '.join(removed)}{renamed}, so new "
                "readers cannot read old data; enum symbols are never removed or renamed"
            )
        if added and "default" not in old:
            self.problems.append(
                f"{path}: enum {name} gained symbol(s) {', '.join(added)} but the released "
                "enum has no default, so old readers cannot read new data"
            )

    def _union(self, old: Any, new: Any, path: str) -> None:
        old_branches = old if isinstance(old, list) else [old]
        new_branches = new if isinstance(new, list) else [new]
        if isinstance(old, list) != isinstance(new, list):
            self.problems.append(
                f"{path}: type changed from {_describe(old)} to {_describe(new)} "
                "(a union and a plain type cannot stand in for each other both ways)"
            )
            return
        old_by_key = {_branch_key(_resolve(b, self.old_names)): b for b in old_branches}
        new_by_key = {_branch_key(_resolve(b, self.new_names)): b for b in new_branches}
        for key, branch in old_by_key.items():
            if key in new_by_key:
                self.compare(branch, new_by_key[key], path)
            else:
                self.problems.append(f"{path}: union branch {key} removed")
        for key in new_by_key.keys() - old_by_key.keys():
            self.problems.append(f"{path}: union branch {key} added")


def structural_problems(old: loader.RecordSchema, new: loader.RecordSchema) -> list[str]:
    """Rule violations between a released and a current record schema."""
    checker = _Structural(old.expanded, new.expanded)
    checker.compare(old.expanded, new.expanded, old.name)
    return checker.problems


# --------------------------------------------------------------------------- sample data
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _sample(schema: Any, names: dict[str, dict[str, Any]], variant: int, depth: int = 0) -> Any:
    schema = _resolve(schema, names)
    if isinstance(schema, list):
        non_null = [b for b in schema if b != "null"]
        if (variant % 2 == 0 and "null" in schema) or not non_null:
            return None
        # Odd variants fill optionals; halving keeps every symbol reachable through them.
        half = variant // 2
        return _sample(non_null[half % len(non_null)], names, half, depth + 1)
    if isinstance(schema, str):
        return {
            "null": None,
            "boolean": variant % 2 == 1,
            "int": variant,
            "long": 2**40 + variant,
            "float": 0.5,
            "double": 0.25,
            "bytes": b"\x00\xff",
            "string": f"sample-{variant}-สวัสดี",
        }[schema]
    kind = schema["type"]
    if "logicalType" in schema and schema["logicalType"].startswith("timestamp"):
        return _T0 + timedelta(milliseconds=variant)
    if kind in ("record", "error"):
        return {f["name"]: _sample(f["type"], names, variant, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][variant % len(schema["symbols"])]
    if kind == "array":
        count = 0 if variant % 2 == 0 or depth > 6 else 2
        return [_sample(schema["items"], names, variant // 2 + i, depth + 1) for i in range(count)]
    if kind == "map":
        count = 0 if variant % 2 == 0 or depth > 6 else 2
        return {
            f"k{i}": _sample(schema["values"], names, variant // 2 + i, depth + 1)
            for i in range(count)
        }
    if kind == "fixed":
        return b"\x00" * schema["size"]
    return _sample(kind, names, variant, depth + 1)


def samples(schema: loader.RecordSchema) -> Iterator[Any]:
    """Sample data covering every enum symbol, null and non-null optionals, empty and full
    arrays/maps."""
    names = _names(schema.expanded)
    most_symbols = max(
        (len(s["symbols"]) for s in names.values() if s.get("type") == "enum"), default=1
    )
    for variant in range(2 * most_symbols + 2):
        yield _sample(schema.expanded, names, variant)


def resolution_problems(old: loader.RecordSchema, new: loader.RecordSchema) -> list[str]:
    """Write samples with one schema and read them with the other, both directions."""
    problems: list[str] = []
    for writer, reader, who in ((old, new, "new readers"), (new, old, "old readers")):
        for datum in samples(writer):
            buf = io.BytesIO()
            try:
                schemaless_writer(buf, writer.parsed, datum)
                buf.seek(0)
                schemaless_reader(buf, writer.parsed, reader.parsed)
            except Exception as exc:
                age = "old" if writer is old else "new"
                problems.append(
                    f"{old.name}: {who} cannot read {age} data "
                    f"(fastavro: {type(exc).__name__}: {exc})"
                )
                break
    return problems


# --------------------------------------------------------------------------- house rules
def house_rule_problems(directory: Path = loader.AVSC_DIR) -> list[str]:
    """Docs on every named type and field, namespace support.v1, null defaults on optionals."""
    problems: list[str] = []
    for name, schema in loader.read_named_types(directory).items():
        short = loader.short_name(name)
        if schema.get("namespace") != loader.NAMESPACE:
            problems.append(f"{short}: namespace must be {loader.NAMESPACE}")
        if not str(schema.get("doc", "")).strip():
            problems.append(f"{short}: no doc")
        for f in schema.get("fields", ()):
            if not str(f.get("doc", "")).strip():
                problems.append(f"{short}.{f['name']}: no doc")
            optional = isinstance(f["type"], list) and "null" in f["type"]
            if optional and (f["type"][0] != "null" or f.get("default", "missing") is not None):
                problems.append(
                    f'{short}.{f["name"]}: an optional field is ["null", …] with default null'
                )
    return problems


# --------------------------------------------------------------------------- the check
def _without_docs(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_docs(s) for s in schema]
    if isinstance(schema, dict):
        return {k: _without_docs(v) for k, v in schema.items() if k != "doc"}
    return schema


def check(
    avsc_dir: Path = loader.AVSC_DIR, released_dir: Path = loader.RELEASED_DIR
) -> tuple[list[str], list[str]]:
    """(problems, versions checked) of the schemas in ``avsc_dir`` against every release."""
    problems = house_rule_problems(avsc_dir)
    current = loader.load_records(avsc_dir)
    versions: list[str] = []
    for version, directory in loader.released_versions(released_dir):
        versions.append(version)
        for name, old in loader.load_records(directory).items():
            new = current.get(name)
            if new is None:
                problems.append(
                    f"{version}: record {name} was removed; released records stay (consumers "
                    "may still read them from topics)"
                )
                continue
            if _without_docs(old.expanded) == _without_docs(new.expanded):
                continue  # docs may change freely; canonical forms would also hide logicalType
            found = structural_problems(old, new) + resolution_problems(old, new)
            problems.extend(f"{version}: {p}" for p in found)
    return problems, versions
