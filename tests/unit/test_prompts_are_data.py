"""Every text sent to an LLM lives in prompts/ (as files), so prompts are read and changed without reading code.

The check reads every string literal of the application's .py files (docstrings aside) and fails on wording that
addresses a model: "You are/should/rank...", "Answer with", "Now write", "Recommend 5 ...", in six words or more
(the scripted LLM recognises prompts by two-word prefixes such as "You plan"). Canned replies to the user ("You're
welcome!", "Tell me what you like") do not read that way and may stay in code. A tool's description and its
arguments' descriptions are part of the tool's schema (LangChain's convention) and stay with the tool.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ["app.py", "graph", "tools", "memory", "models", "evals", "serving", "benchmarks", "scripts"]
PROMPTS = ROOT / "prompts"
INSTRUCTION = re.compile(
    r"(?:^|[.!?:]\s+|\n)(?:"
    r"You (?:are|should|must|will|act|order|rank|pick|recommend|judge|explain|plan|check|answer)\b"
    r"|(?:Answer|Reply|Respond) (?:with|in|only)\b"
    r"|Now (?:write|answer|rank|pick|give|recommend)\b"
    r"|(?:Write|Give|Explain|Recommend|Rank|Order|Pick|Choose|Name) (?:your|the|all|why|exactly|\d|\{|\x00))")
SCHEMA_CALLS = {"AgentTool", "ToolSpec", "Field", "StructuredTool", "add_argument"}
MIN_WORDS = 6
CALL = re.compile(r"\b(?:load|template)\(\s*f?\"([\w{}]+)\"")


def _files() -> list[Path]:
    out: list[Path] = []
    for name in CODE:
        p = ROOT / name
        out += [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
    return [f for f in out if ".venv" not in f.parts]


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of each string literal; an f-string's fixed parts joined with \\x00 where values go."""
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out: list[tuple[int, str]] = []
    inside_f: set[int] = set()
    for n in ast.walk(tree):  # a tool's or argument's description: schema, not prompt
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) in SCHEMA_CALLS:
            for a in [*n.args, *(k.value for k in n.keywords)]:
                inside_f.update(id(x) for x in ast.walk(a) if isinstance(x, ast.Constant | ast.JoinedStr))
    for n in ast.walk(tree):
        if isinstance(n, ast.JoinedStr) and id(n) not in inside_f:
            parts = [v.value if isinstance(v, ast.Constant) else "\x00" for v in n.values]
            inside_f.update(id(v) for v in n.values)
            out.append((n.lineno, "".join(str(p) for p in parts)))
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs | inside_f:
            out.append((n.lineno, n.value))
    return out


def test_no_llm_prompt_text_in_code() -> None:
    found = [f"{f.relative_to(ROOT)}:{line}: {text[:90]!r}"
             for f in _files() for line, text in _literals(ast.parse(f.read_text(encoding="utf-8")))
             if len(text.split()) >= MIN_WORDS and INSTRUCTION.search(text)]
    assert found == [], "prompt text belongs in prompts/*.txt:\n" + "\n".join(found)


def test_the_check_sees_a_prompt_in_code() -> None:
    code = ('SYSTEM = ("You rank {items} for a user. "\n "Answer with a numbered list.")\n'
            'ask = f"Now pick the {n} best ones for me."\nAgentTool("rank", "Recommend {items} for a user.")\n')
    assert [t for _, t in _literals(ast.parse(code)) if INSTRUCTION.search(t)] == [
        "Now pick the \x00 best ones for me.", "You rank {items} for a user. Answer with a numbered list."]


def test_every_prompt_file_is_used_and_every_used_name_has_a_file() -> None:
    used: set[str] = set()
    for f in _files():
        for name in CALL.findall(f.read_text(encoding="utf-8")):
            used.add(name)
    files = {p.stem for p in PROMPTS.glob("*.txt")}
    styles = {n for n in files if n.startswith("reply_style_")}  # read as template(f"reply_style_{style}")
    assert "reply_style_{s}" in used and styles
    used = {n for n in used if "{" not in n} | styles
    assert sorted(used - files) == [], "named in code, no file"
    assert sorted(files - used) == [], "a prompt file nothing reads"
