"""Who is calling: API keys map to user ids, and thread ids are namespaced by that user.

With INTEREC_API_KEYS set, every agent route needs a key and the user comes from the key alone, so a
caller can neither claim another user nor name another user's thread (its ids get its own prefix).
Without keys (local use) the caller may say who it is with X-User-Id.
"""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
KEY_HEADER = "X-API-Key"
KEY_COOKIE = "interec_api_key"
DEFAULT_USER = "default"


@dataclass(frozen=True)
class Identity:
    user_id: str
    authenticated: bool = False

    def thread(self, public_id: str) -> str:
        """The checkpointer's thread id: '<user>/<thread>'; '/' cannot occur in either part."""
        return f"{self.user_id}/{check_name(public_id, 'thread id')}"


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise HTTPException(422, f"invalid {what}: use 1-64 letters, digits, '_', '.', '-' (starting with a letter or digit)")
    return value


def new_thread_id() -> str:
    return uuid.uuid4().hex[:16]


def parse_api_keys(text: str) -> dict[str, str]:
    """'key1:alice,key2:bob' -> {'key1': 'alice', 'key2': 'bob'}; a malformed entry is a startup error."""
    keys: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        key, sep, user = entry.rpartition(":")
        if not sep or not key or not NAME.match(user):
            raise ValueError(f"INTEREC_API_KEYS: expected 'key:user' entries, got '{entry[:4]}...'")
        keys[key] = user
    return keys


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get(KEY_HEADER) or request.cookies.get(KEY_COOKIE)


def identify(request: Request, keys: dict[str, str]) -> Identity:
    if not keys:
        return Identity(check_name(request.headers.get("X-User-Id") or DEFAULT_USER, "user id"))
    given = presented_key(request)
    if not given:
        raise HTTPException(401, "an API key is required (X-API-Key header or Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})
    user: str | None = None
    for key, who in keys.items():  # compare against every key, in constant time each
        if hmac.compare_digest(key.encode(), given.encode()):
            user = who
    if user is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return Identity(user, authenticated=True)


async def caller(request: Request) -> Identity:
    """FastAPI dependency: the caller's identity, kept on request.state for later hooks."""
    ident = identify(request, request.app.state.settings.api_keys)
    request.state.identity = ident
    return ident


Caller = Annotated[Identity, Depends(caller)]
