"""The error answers the routes give, declared in the OpenAPI spec so clients (and the fuzzer) can rely
on them: every refusal is `{"detail": ...}` with one of these statuses, never an undocumented one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

WHY = {
    400: "the message is empty, too long, or not text",
    401: "an API key is required, or the key is unknown",
    404: "no such item or conversation for this caller",
    409: "the same conversation is answering another message (any worker)",
    413: "the request body is over the size limit",
    422: "a field is missing, has the wrong type, or an id is malformed",
    503: "the agent is still starting",
}


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]]  # text from our checks, or FastAPI's list of field errors


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the given statuses with their meaning and body model."""
    return {c: {"model": ErrorBody, "description": WHY[c]} for c in codes}
