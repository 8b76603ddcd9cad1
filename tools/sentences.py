"""Where a reply may stop: after a finished sentence or a finished line, never mid-sentence.

Used twice: the reply writer's text is cut back to its last finished sentence when the LLM hit its token
cap (respond), and the terminal chat streams a reply only up to its last finished sentence, so a tail
that the final reply drops was never shown (chat_cli).
"""

from __future__ import annotations

import re

# a sentence end (with closing quotes/brackets) followed by white space or the end, or a line break
_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)|\n")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,3}|[A-Za-z])[.)]$")  # "2." opening a numbered line is no sentence end


def last_boundary(text: str) -> int:
    """Index just past the last finished sentence or line in `text` (0 when there is none)."""
    for m in reversed(list(_END.finditer(text))):
        if m.group() == "\n":
            return m.start()
        line_start = text.rfind("\n", 0, m.start()) + 1
        if not _LIST_MARK.match(text[line_start:m.end()]):
            return m.end()
    return 0


def whole_sentences(text: str) -> str:
    """`text` without its unfinished last sentence (a reply cut by the token cap); an unbroken fragment
    keeps its words and ends with an ellipsis instead."""
    body = text.rstrip()
    if not body or last_boundary(body) == len(body):
        return body
    cut = last_boundary(body)
    return body[:cut].rstrip() if cut else body.rstrip(" ,;:-–—") + "…"
