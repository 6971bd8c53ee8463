"""The real service on a free loopback port, served by uvicorn in a background thread (for the sync twin and
the trainer adapters, which need a real socket)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from app.config import Settings
from app.main import create_app

QUIET = {"log_json": False, "log_level": "warning"}


@contextlib.contextmanager
def live_service(**settings: Any) -> Iterator[str]:
    """Start the app (workers warm) and yield its base URL; stop it on exit."""
    settings = {"workers": 1, **QUIET, **settings}
    app = create_app(Settings(**settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="vrewards-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
