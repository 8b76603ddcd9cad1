"""How a catalog title is written for people: the one place for the "Matrix, The (1999)" convention.

Why one place: the reply writer, the knowledge and explanation texts, the re-rank prompt and the constrained
generator all show titles, and they must show the same string (the grounding check and the constrained
decoder map those strings back to items). The evaluator keeps its own copy (evals/sim_facts.natural_title):
it may not share the agent's code.
"""

from __future__ import annotations

import re

# A trailing article moved behind the name, then optional parenthesised parts (alternative title, year).
_ARTICLE = re.compile(r"^(.*?),\s*(The|A|An|Les|Le|La|L'|Il|Das|Der|Die|El)((?:\s*\([^()]*\))*)\s*$")


def display_title(title: str) -> str:
    """How people write a catalog title: "Matrix, The (1999)" -> "The Matrix (1999)"; alternative titles in
    parentheses stay after the name ("Good, the Bad and the Ugly, The (Buono, ...) (1966)")."""
    m = _ARTICLE.match(title)
    if not m:
        return title.strip()
    art = m.group(2)
    sep = "" if art.endswith("'") else " "
    return f"{art}{sep}{m.group(1)}{m.group(3) or ''}".strip()
