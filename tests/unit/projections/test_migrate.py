"""Migrations: applied in order once, recorded, and an edited applied migration is refused."""

from __future__ import annotations

import pytest

from projections.engines import ChdbEngine
from projections.migrate import Migration, MigrationError, load_migrations, migrate


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_statements_split_on_semicolons_and_name_the_database() -> None:
    m = Migration(1, "x", "-- a comment; not a split\nCREATE TABLE {db}.a (x UInt8) ENGINE = Memory;\n"
                  "CREATE TABLE {db}.b (x UInt8) ENGINE = Memory;\n")  # fmt: skip
    assert m.statements("d") == [
        "CREATE TABLE d.a (x UInt8) ENGINE = Memory",
        "CREATE TABLE d.b (x UInt8) ENGINE = Memory",
    ]


def test_migrate_applies_each_migration_once_and_records_it() -> None:
    engine = ChdbEngine()
    first = migrate(engine, "m")
    assert [m.version for m in first] == [m.version for m in load_migrations()]
    assert migrate(engine, "m") == []
    rows = engine.execute("SELECT version, name FROM m.schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in first]


def test_an_edited_applied_migration_is_refused() -> None:
    engine = ChdbEngine()
    one = Migration(1, "t", "CREATE TABLE IF NOT EXISTS {db}.t (x UInt8) ENGINE = Memory;")
    migrate(engine, "e", [one])
    edited = Migration(1, "t", one.sql + "\n-- edited")
    with pytest.raises(MigrationError, match="never edit an applied migration"):
        migrate(engine, "e", [edited])
