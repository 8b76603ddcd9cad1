"""Fixtures of the HTTP tests (pytest finds them here; the tests import nothing for them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fresh_sse() -> Iterator[None]:
    """sse-starlette 1.x (LangServe's) keeps one exit event bound to the first event loop; each test has its own."""
    from sse_starlette.sse import AppStatus

    AppStatus.should_exit_event = None
    yield
    AppStatus.should_exit_event = None
