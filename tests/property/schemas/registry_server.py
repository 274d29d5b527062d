"""A tiny Confluent Schema Registry for tests: the two documented calls the codec uses.

``POST /subjects/{subject}/versions`` with ``{"schema": "..."}`` → ``{"id": n}`` (the same schema
gets the same global id, as in Confluent's registry), ``GET /schemas/ids/{id}`` →
``{"schema": "..."}`` or 404 with ``{"error_code": 40403, ...}``. A real HTTP peer on
127.0.0.1, not a mock of the codec.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalSchemaRegistry:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.ids: dict[str, int] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                registry.requests.append(("POST", self.path))
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
                    return self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                subject = urllib.parse.unquote(parts[1])
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                schema = body.get("schema")
                if not isinstance(schema, str):
                    return self._answer(422, {"error_code": 42201, "message": "Invalid schema"})
                with registry._lock:
                    schema_id = registry.ids.get(schema)
                    if schema_id is None:
                        schema_id = len(registry.schemas) + 1
                        registry.ids[schema] = schema_id
                        registry.schemas[schema_id] = schema
                    versions = registry.subjects.setdefault(subject, [])
                    if schema_id not in versions:
                        versions.append(schema_id)
                self._answer(200, {"id": schema_id})

            def do_GET(self) -> None:
                registry.requests.append(("GET", self.path))
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                    schema = registry.schemas.get(int(parts[2]))
                    if schema is not None:
                        return self._answer(200, {"schema": schema})
                    return self._answer(404, {"error_code": 40403, "message": "Schema not found"})
                self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalSchemaRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
