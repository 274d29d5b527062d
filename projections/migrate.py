"""Versioned SQL migrations: ``projections/migrations/NNNN_name.sql``, applied in order.

Each file holds one or more statements separated by ``;`` at the end of a line; ``{db}`` stands
for the target database. Applied versions are recorded in ``{db}.schema_migrations`` (version,
name, checksum, time); a recorded migration whose file changed since is an error (write a new
migration instead of editing an applied one).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from projections.engines import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """A migration could not be applied, or the recorded history does not match the files."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self, db: str) -> list[str]:
        """The statements of this migration for database ``db``."""
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        parts = re.split(r";\s*$", body, flags=re.MULTILINE)
        return [p.strip().replace("{db}", db) for p in parts if p.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, by version; raises MigrationError on a bad or duplicate name."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, m.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


def ensure_history(engine: Engine, db: str) -> None:
    """Create the database and its migrations table if missing."""
    engine.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, name String, "
        "checksum String, applied_at DateTime('UTC')) ENGINE = MergeTree() ORDER BY version"
    )


def applied(engine: Engine, db: str) -> dict[int, str]:
    """version → checksum of the migrations recorded in ``db``."""
    rows = engine.execute(
        f"SELECT version, any(checksum) FROM {db}.schema_migrations GROUP BY version"
    )
    return {int(v): str(c) for v, c in rows}


def migrate(engine: Engine, db: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply the pending migrations to ``db`` in order; return those applied.

    Statements are idempotent (``IF NOT EXISTS``), so a run interrupted mid-migration is
    finished by the next run. Raises MigrationError when an applied migration's file changed."""
    todo = load_migrations() if migrations is None else migrations
    ensure_history(engine, db)
    done = applied(engine, db)
    out: list[Migration] = []
    for mig in todo:
        if mig.version in done:
            if done[mig.version] != mig.checksum:
                raise MigrationError(
                    f"migration {mig.version:04d}_{mig.name} was applied to {db} with checksum "
                    f"{done[mig.version]} but the file now has {mig.checksum}; never edit an "
                    "applied migration, add a new one"
                )
            continue
        for stmt in mig.statements(db):
            engine.execute(stmt)
        engine.insert(
            f"{db}.schema_migrations",
            ("version", "name", "checksum", "applied_at"),
            [[mig.version], [mig.name], [mig.checksum], [datetime.now(UTC).replace(microsecond=0)]],
        )
        out.append(mig)
    return out


# Tables holding projected data (swapped by a rebuild), in migration order; views excluded.
DATA_TABLES = ("events", "tickets", "messages", "sla_timers", "agent_activity", "rollup_hourly")
