"""Load the ``.avsc`` files: resolve named types, expand, parse, fingerprint.

Each ``.avsc`` holds one named type (record or enum, namespace ``support.v1``); records refer to
the shared types (``Envelope``, ``Actor``, ``Channel`` …) by name. For every record we build a
self-contained schema in which each named type is defined at its first use and referenced by
name afterwards (what the Avro spec, fastavro and a Confluent registry all accept without
extra references), its Parsing Canonical Form and its CRC-64-AVRO fingerprint.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

NAMESPACE = "support.v1"
AVSC_DIR = Path(__file__).resolve().parent / "avsc"
RELEASED_DIR = Path(__file__).resolve().parent / "released"

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

Schema = Any  # a JSON schema value: str | list | dict (what json.load gives)


class SchemaLoadError(Exception):
    """An ``.avsc`` file is missing, unreadable or refers to a type that does not exist."""


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """One record, ready to use: expanded JSON, fastavro-parsed form, canonical form, fingerprint."""

    name: str  # short name, == the Python class name
    full_name: str  # e.g. support.v1.TicketOpened
    expanded: dict[str, Any]  # self-contained JSON schema (named types inlined at first use)
    parsed: Any  # fastavro parsed schema
    canonical: str  # Avro Parsing Canonical Form
    fingerprint: bytes  # 8-byte CRC-64-AVRO, little-endian (as in single-object encoding)

    def json(self) -> str:
        """The self-contained schema as compact JSON (what a schema registry stores)."""
        return json.dumps(self.expanded, separators=(",", ":"), ensure_ascii=False)


def full_name(name: str, namespace: str = NAMESPACE) -> str:
    return name if "." in name else f"{namespace}.{name}"


def short_name(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def read_named_types(directory: Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.avsc`` in ``directory``: full name → JSON schema of that named type."""
    if not directory.is_dir():
        raise SchemaLoadError(f"schema directory {directory} does not exist")
    types: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.avsc")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaLoadError(f"{path}: not readable JSON: {exc}") from exc
        if not isinstance(schema, dict) or "name" not in schema:
            raise SchemaLoadError(f"{path}: expected one named type (a JSON object with a name)")
        name = full_name(schema["name"], schema.get("namespace", NAMESPACE))
        if path.stem != short_name(name):
            raise SchemaLoadError(f"{path}: file name must equal the type name {short_name(name)}")
        types[name] = schema
    return types


def expand(name: str, types: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The named type ``name`` with every named type it uses defined at first use."""
    seen: set[str] = set()

    def walk(schema: Schema, namespace: str) -> Schema:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return schema
            ref = full_name(schema, namespace)
            if ref in seen:
                return ref
            if ref not in types:
                raise SchemaLoadError(f"unknown named type {schema!r} (looked for {ref}.avsc)")
            return walk(types[ref], namespace)
        if isinstance(schema, list):
            return [walk(branch, namespace) for branch in schema]
        if not isinstance(schema, dict):
            raise SchemaLoadError(f"not a schema: {schema!r}")
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            ns = schema.get("namespace", namespace)
            fname = full_name(schema["name"], ns)
            if fname in seen:
                return fname
            seen.add(fname)
            out = copy.deepcopy(schema)
            out["name"] = short_name(fname)
            out["namespace"] = fname.rsplit(".", 1)[0]
            if kind in ("record", "error"):
                out["fields"] = [
                    {**f, "type": walk(f["type"], out["namespace"])} for f in schema["fields"]
                ]
            return out
        if kind == "array":
            return {**schema, "items": walk(schema["items"], namespace)}
        if kind == "map":
            return {**schema, "values": walk(schema["values"], namespace)}
        if isinstance(kind, (dict, list)):
            return {**schema, "type": walk(kind, namespace)}
        return schema

    return cast(dict[str, Any], walk(full_name(name), NAMESPACE))


def build(name: str, types: Mapping[str, dict[str, Any]]) -> RecordSchema:
    """Expand, parse and fingerprint the record ``name``."""
    expanded = expand(name, types)
    parsed = parse_schema(copy.deepcopy(expanded))
    canonical = to_parsing_canonical_form(expanded)
    fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    return RecordSchema(
        name=short_name(name),
        full_name=full_name(name),
        expanded=expanded,
        parsed=parsed,
        canonical=canonical,
        fingerprint=fp,
    )


def load_records(directory: Path = AVSC_DIR) -> dict[str, RecordSchema]:
    """Every record in ``directory`` (enums are only used inside records): short name → schema."""
    types = read_named_types(directory)
    return {short_name(n): build(n, types) for n, s in types.items() if s.get("type") == "record"}


def released_versions(root: Path = RELEASED_DIR) -> Iterator[tuple[str, Path]]:
    """The released snapshots kept in the repo, oldest first: (version label, directory)."""
    if not root.is_dir():
        return iter(())
    dirs = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")]
    dirs.sort(key=lambda p: int(p.name[1:]) if p.name[1:].isdigit() else 0)
    return iter([(p.name, p) for p in dirs])
