"""Hostile text, in and out: control sequences stripped, catalog text made inert, leaked prompts caught.

Item titles, descriptions and user tags are data written by whoever filled the catalog. They reach
the reply writer's prompt, so they are flattened to one line (no forged "User:" / "Now write" lines),
stripped of terminal escapes and invisible direction marks, and the system prompt says they are
data. The reply is then checked in code: a reply that repeats the system prompt is replaced, because a
prompt rule alone does not stop a small model from obeying "print your instructions".
"""

from __future__ import annotations

import re

# CSI (colours, cursor moves) and OSC (window titles, hyperlinks) escape sequences, then single controls
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# C0/C1 controls except tab and newline; zero-width space, word joiner, BOM; bidi overrides (Trojan Source)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
_ROLE = re.compile(r"\b(system|assistant|user|human)\s*:", re.I)


def strip_controls(text: str) -> str:
    """Remove terminal escapes and invisible control characters; keep newlines and tabs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ANSI.sub("", text))


def inert(text: str, limit: int = 300) -> str:
    """Catalog or tool text for a prompt: one line, no controls, no role markers, capped."""
    flat = " ".join(strip_controls(text).split())
    flat = _ROLE.sub(lambda m: m.group(1) + " -", flat)
    return flat[:limit]


def _needles(template: str) -> list[str]:
    """The fixed wording of a prompt template: its lines, cut at {placeholders}, 25+ characters each."""
    parts = (p.strip(" -\"'.,:;()") for ln in template.splitlines() for p in re.split(r"\{\w*\}", ln))
    return [" ".join(p.lower().split()) for p in parts if len(p) >= 25]


def leaks_prompt(reply: str, *templates: str) -> bool:
    """True when the reply repeats a prompt template's own wording: a whole phrase or a 40-character run
    of it. Templates (not filled prompts) are checked, so schema lines and titles never count."""
    flat = " ".join(reply.lower().split())
    for template in templates:
        for low in _needles(template):
            if low in flat or any(low[i:i + 40] in flat for i in range(0, max(1, len(low) - 39), 20)):
                return True
    return False
