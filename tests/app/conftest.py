"""Fixtures for the service tests: a clean environment and apps served in-process over ASGI."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app

TOKEN = "test-token-0123456789abcdef"
FAKE_SCORER = "tests.app.fake_scorer"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No VREWARDS_* variable from the outside environment leaks into a test."""
    for key in list(os.environ):
        if key.startswith("VREWARDS_"):
            monkeypatch.delenv(key)


@asynccontextmanager
async def serve(
    scorer: str = "rewards", headers: dict[str, str] | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An app with ``settings``, started (workers warm), and a client talking to it in-process."""
    settings.setdefault("workers", 2)
    app = create_app(Settings(**settings), scorer=scorer)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers, timeout=60
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
