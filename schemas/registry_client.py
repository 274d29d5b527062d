"""A small Confluent Schema Registry client: register a schema, look one up by id (cached).

Only the two calls the codec needs, over the documented REST contract:
``POST /subjects/{subject}/versions`` with ``{"schema": "<schema JSON>"}`` → ``{"id": n}``, and
``GET /schemas/ids/{id}`` → ``{"schema": "<schema JSON>"}``. Subjects follow the
RecordNameStrategy (``support.v1.TicketOpened``) because one topic carries many record types.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(Exception):
    """The schema registry could not be reached or refused a request."""


class SchemaRegistryClient:
    """Registers and fetches schemas; every answer is cached for the life of the client."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}
        self._lock = threading.Lock()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise SchemaRegistryError(
                f"schema registry {self.url}: {method} {path} answered {exc.code}: {detail}"
            ) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SchemaRegistryError(
                f"schema registry {self.url}: {method} {path} failed: {exc}; "
                "check TICKETSTREAM_SCHEMA_REGISTRY_URL"
            ) from exc

    def register(self, subject: str, schema_json: str) -> int:
        """Register ``schema_json`` under ``subject`` (idempotent); return its global id."""
        key = (subject, schema_json)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
        answer = self._request("POST", path, {"schema": schema_json})
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise SchemaRegistryError(f"schema registry {self.url}: unexpected answer {answer!r}")
        schema_id: int = answer["id"]
        with self._lock:
            self._ids[key] = schema_id
            self._schemas[schema_id] = schema_json
        return schema_id

    def schema(self, schema_id: int) -> str:
        """The schema JSON registered under the global ``schema_id``."""
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        answer = self._request("GET", f"/schemas/ids/{schema_id}")
        if not isinstance(answer, dict) or not isinstance(answer.get("schema"), str):
            raise SchemaRegistryError(f"schema registry {self.url}: unexpected answer {answer!r}")
        text: str = answer["schema"]
        with self._lock:
            self._schemas[schema_id] = text
        return text
