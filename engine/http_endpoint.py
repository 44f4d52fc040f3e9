"""The metrics HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``, on its own thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessProbe = Callable[[], tuple[bool, dict[str, object]]]


class MetricsPortInUse(Exception):
    """The configured metrics address cannot be bound (one-line message)."""


class MetricsServer:
    """A small threaded HTTP server for Prometheus scrapes and health probes."""

    def __init__(
        self, registry: CollectorRegistry, host: str, port: int, readiness: ReadinessProbe
    ) -> None:
        self.registry = registry
        self.readiness = readiness
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler_class())
        except OSError as exc:
            raise MetricsPortInUse(
                f"metrics address {host}:{port} is unavailable ({exc.strerror}); "
                "set ALPHAPT_METRICS__PORT to another port or ALPHAPT_METRICS__ENABLED=false"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        return self._server.server_address[1]

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.registry))
                elif path == "/healthz":
                    self._send(200, "application/json", b'{"status":"alive"}')
                elif path == "/readyz":
                    ready, detail = server.readiness()
                    body = json.dumps({"ready": ready, **detail}).encode()
                    self._send(200 if ready else 503, "application/json", body)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would flood the log

        return Handler
