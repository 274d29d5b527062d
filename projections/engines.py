"""The two ClickHouse engines the projections run against, behind one small port.

- :class:`DriverEngine`: a ClickHouse server through clickhouse-driver (native protocol,
  columnar inserts) — ClickHouse 18.16 in tests, a current server in production.
- :class:`ChdbEngine`: the current ClickHouse engine in-process through ``chdb`` (tests check
  every migration and cookbook query on it; it cannot serve clickhouse-driver).

Errors from either are wrapped in :class:`ClickHouseError` (or :class:`ClickHouseUnavailable`
when the server cannot be reached, which callers retry).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, Protocol

Row = tuple[Any, ...]


class ClickHouseError(Exception):
    """A statement failed on ClickHouse; the message names the statement's start."""


class ClickHouseUnavailable(ClickHouseError):
    """The server could not be reached (connection refused, reset or timed out): retry later."""


class Engine(Protocol):
    """What the projections need from ClickHouse."""

    name: str

    def execute(self, sql: str) -> list[Row]:
        """Run one statement; return its rows (empty for DDL)."""
        ...

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        """Insert ``data`` given column by column (``data[i]`` holds ``columns[i]``'s values)."""
        ...

    def close(self) -> None: ...


def _head(sql: str) -> str:
    body = " ".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
    return " ".join(body.split())[:120]


def _first_line(exc: BaseException) -> str:
    """The error without the server's stack trace."""
    text = str(exc).strip()
    return " ".join(text.split("Stack trace:")[0].split())


_INT_ONLY = frozenset({int})
_int_datetimes = threading.local()  # .on: this thread's insert has only int DateTime values


def _install_int_datetimes() -> None:
    """Let clickhouse-driver's DateTime columns skip their per-value loops for an insert of an
    engine that asked for it (:meth:`DriverEngine.use_int_datetimes`) when the column is not
    Nullable and every value is an int (epoch seconds, which those loops leave as they are):
    prepare_items and before_write_items each visit every value in Python (~90 ns a value
    together; ~8 DateTime cells an event), the check takes ~20 ns in C. Anything else (a
    Nullable column, a datetime, another engine's insert, another thread) takes the driver's
    own path, so what is written never changes."""
    from clickhouse_driver.columns.datetimecolumn import DateTimeColumn

    original = DateTimeColumn.prepare_items
    if getattr(original, "ticketstream_int_datetimes", False):
        return

    def prepare_items(self: Any, items: list[Any]) -> list[Any]:
        if (
            getattr(_int_datetimes, "on", False)
            and not (self.nullable or self.input_null_as_default)
            and not self.types_check_enabled
            and not self.check_item
            and _INT_ONLY.issuperset(map(type, items))
        ):
            return items
        prepared: list[Any] = original(self, items)
        return prepared

    prepare_items.ticketstream_int_datetimes = True  # type: ignore[attr-defined]
    DateTimeColumn.prepare_items = prepare_items


class DriverEngine:
    """A ClickHouse server through clickhouse-driver."""

    name = "server"
    int_datetimes = False  # see use_int_datetimes

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "default",
        password: str = "",
        database: str = "default",
        connect_timeout: float = 3.0,
        send_receive_timeout: float = 30.0,
    ) -> None:
        from clickhouse_driver import Client

        self.host, self.port = host, port
        self._options: dict[str, Any] = {
            "user": user, "password": password, "database": database,
            "connect_timeout": connect_timeout, "send_receive_timeout": send_receive_timeout,
        }  # fmt: skip
        self._client = Client(
            host,
            port=port,
            user=user,
            password=password,
            database=database,
            connect_timeout=connect_timeout,
            send_receive_timeout=send_receive_timeout,
            settings={"use_numpy": False},
        )

    def clone(self) -> DriverEngine:
        """Another engine for the same server and settings, on a connection of its own (a
        clickhouse-driver client serves one thread at a time); it connects on first use."""
        other = DriverEngine(self.host, self.port, **self._options)
        if self.int_datetimes:
            other.use_int_datetimes()
        return other

    def use_int_datetimes(self) -> None:
        """This engine's inserts give DateTime columns as ints (epoch seconds), as the
        projector's rows do: the driver need not look at each value (see
        ``_install_int_datetimes``; a value of another type still takes its loop)."""
        _install_int_datetimes()
        self.int_datetimes = True

    def _wrap(self, sql: str, exc: Exception) -> ClickHouseError:
        from clickhouse_driver import errors

        where = f"ClickHouse {self.host}:{self.port}"
        if isinstance(exc, errors.NetworkError | errors.SocketTimeoutError | OSError | EOFError):
            return ClickHouseUnavailable(
                f"{where} unreachable running `{_head(sql)}`: {_first_line(exc)}"
            )
        return ClickHouseError(f"{where} failed `{_head(sql)}`: {_first_line(exc)}")

    def execute(self, sql: str) -> list[Row]:
        try:
            return list(self._client.execute(sql))
        except Exception as exc:
            self._client.disconnect()
            raise self._wrap(sql, exc) from exc

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
        _int_datetimes.on = self.int_datetimes
        try:
            self._client.execute(sql, list(data), columnar=True)
        except Exception as exc:
            self._client.disconnect()
            raise self._wrap(sql, exc) from exc
        finally:
            _int_datetimes.on = False

    def select_where_in(self, select: str, column: str, values: Collection[str]) -> list[Row]:
        """The rows of ``select`` (a SELECT without WHERE) whose ``column`` is one of
        ``values``. The values go to the server as a temporary table of the query, in the
        native protocol's binary form: as an IN list of literals the server parses each one
        (~5 us a value; 3,000 ticket ids 17-19 ms against 3-4 ms this way). The primary key
        index narrows the read as for the literal list (``use_index_for_in_with_subqueries``)."""
        sql = f"{select} WHERE {column} IN {_VALUES}"
        table = {
            "name": _VALUES,
            "structure": [("v", "String")],
            "data": [{"v": v} for v in values],
        }
        try:
            return list(self._client.execute(sql, external_tables=[table]))
        except Exception as exc:
            self._client.disconnect()
            raise self._wrap(sql, exc) from exc

    def close(self) -> None:
        self._client.disconnect()


_VALUES = "_ticketstream_values"  # select_where_in's temporary table (the query's own)


def sql_literal(value: Any) -> str:
    """``value`` as a ClickHouse SQL literal (for engines without a binary insert path)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "nan"
    if isinstance(value, datetime):
        return f"'{value.strftime('%Y-%m-%d %H:%M:%S')}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    if isinstance(value, bytes):  # a String value as its UTF-8 bytes (projections.rows)
        value = value.decode()
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class ChdbEngine:
    """The current ClickHouse engine in-process (``chdb``), for tests; datetimes are UTC."""

    name = "chdb"

    def __init__(self, path: str | None = None) -> None:
        from chdb import session

        self._session: Any = session.Session(path) if path else session.Session()  # type: ignore[no-untyped-call]

    def execute(self, sql: str) -> list[Row]:
        body = "\n".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
        if body.lstrip().upper().startswith(("SELECT", "WITH")):
            body += "\nSETTINGS output_format_json_quote_64bit_integers = 0"
        try:
            res = self._session.query(body, "JSONCompact")
        except Exception as exc:
            raise ClickHouseError(f"chdb failed `{_head(sql)}`: {_first_line(exc)}") from exc
        text = res.bytes().decode() if hasattr(res, "bytes") else str(res)
        if not text.strip():
            return []
        return [tuple(r) for r in json.loads(text)["data"]]

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        rows = zip(*data, strict=True)
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)
        if values:
            self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}")

    def close(self) -> None:
        self._session.close()
