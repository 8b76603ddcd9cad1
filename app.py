"""interec command line: build a domain, inspect it, chat with the agent.

Every subcommand parses its arguments, calls one library function and prints the result. Errors the
user can fix (bad config, missing column, unbuilt domain, dead LLM endpoint) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any

from graph.chat_help import CHAT_HELP
from graph.context import CHOICES, HELP, SettingError, check

DEFAULT_DOMAIN = "data/movielens"
# Each module has `register(subparsers, add_domain)` that adds its subcommand(s).
PLUGGED = [m for m in ("models.train_cli", "evals.cli", "serving.cli", "serving.mcp_cli") if importlib.util.find_spec(m.split(".")[0])
           and importlib.util.find_spec(m) is not None]


def _add_domain(p: argparse.ArgumentParser) -> None:
    p.add_argument("--domain", default=DEFAULT_DOMAIN, help="domain folder (with domain.toml/json)")
    p.add_argument("--artifacts", default=None, help="artifacts root (default $INTEREC_ARTIFACTS or ~/.cache/interec/artifacts)")


def _setting(name: str) -> Callable[[str], str]:
    """--mode/--style/--rank: checked by graph.context, so the CLI says what the API and the chat say."""

    def parse(text: str) -> str:
        try:
            return check(name, text)
        except SettingError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def _row_limit(text: str) -> int:
    """--limit for `sql`: a whole number of rows from 1 to the engine's maximum."""
    from models.item_table import MAX_ROW_CAP

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_ROW_CAP:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_ROW_CAP:,}, got {n}")
    return n


def cmd_build(args: argparse.Namespace) -> int:
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config

    cfg = load_config(args.domain)
    report = build_domain(cfg, artifacts_dir(cfg, args.artifacts), progress=not args.quiet, index=not args.no_index,
                          strict=args.strict, echo=print, full_index=args.full_index)
    s = report.stats
    for w in report.warnings:
        print(f"warning: {w}")
    if report.warnings:
        print(f"{len(report.warnings)} data warning(s): values were changed or rows skipped as listed above "
              "(`build --strict` makes them errors; `info` lists them again)")
    word = s.get("interaction_word", "interactions")
    print(f"{cfg.name}: {s['items']:,} items, {s['interactions']:,} {word}, {s['users']:,} users "
          f"(train {s['train']:,} / valid {s['valid']:,} / test {s['test']:,})")
    for step, state in report.steps.items():
        print(f"  {step}: {state}")
    print(f"artifacts: {report.artifacts}  ({report.seconds:.1f} s)")
    train = "none" if args.no_train else args.train
    if train != "none":  # the quick models; the RecLM-emb encoder is `app.py train --model emb`
        from models.build import train_quick_models

        train_quick_models(report, cfg, background=train == "background", progress=not args.quiet, echo=print)
    print("time per step:")
    print(report.time_table())
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from models.build import load_domain

    d = load_domain(args.domain, args.artifacts)
    print(f"domain {d.name} ({d.config.item_word}s) at {d.artifacts}")
    print(d.schema.prompt())
    lists = [c for c in d.schema.columns if c.kind == "list"]
    if lists:
        print("list columns (one row may hold several values; `col = 'v'` means it has the value v): "
              + ", ".join(f"{c.name} {c.distinct if c.distinct is not None else len(c.values):,} distinct" for c in lists))
    warnings: list[str] = []
    for step, meta in sorted(d.manifest.items()):
        stats = dict(meta.get("stats", {}))
        warnings += stats.pop("warnings", [])
        print(f"{step}: {json.dumps(stats)}")
    print(f"build warnings: {len(warnings)}")
    for w in warnings:
        print(f"  warning: {w}")
    from models.training import model_status, ranker_note

    status = model_status(d)
    for name, st in status.items():
        print(f"model {name}: {st['state']} {json.dumps({k: v for k, v in st.items() if k != 'state'})}")
    print(ranker_note(d, status))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from models.build import load_domain
    from models.item_table import SQLError

    d = load_domain(args.domain, args.artifacts)
    try:
        res = d.table.query(args.query, row_cap=args.limit)
    except SQLError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in res.notes:
        print(f"note: {note}")
    for rec in res.records():
        print(json.dumps(rec, ensure_ascii=False))
    if res.truncated:
        print(f"... more rows (capped at {args.limit})")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from models.build import load_domain

    d = load_domain(args.domain, args.artifacts)
    for m in d.resolver.resolve(args.title, k=args.k):
        print(f"{m.confidence:.2f}  {m.title}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from graph.chat_cli import run_chat

    return run_chat(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py", description="interec: a conversational recommender for any catalog")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("build", help="validate a domain, normalise its data, split, index (idempotent)")
    _add_domain(p)
    p.add_argument("--no-index", action="store_true", help="skip the embedding index")
    p.add_argument("--no-train", action="store_true", help="skip training the popularity, ItemCF and SASRec models")
    p.add_argument("--train", choices=["now", "background", "none"], default="now",
                   help="now: popularity, ItemCF and SASRec before the build returns; background: popularity and "
                        "ItemCF now, SASRec in a separate low-priority process so the chat can start (it uses "
                        "similarity until SASRec is ready); none: no models (as --no-train)")
    p.add_argument("--full-index", action="store_true", help="re-embed every item instead of only the changed rows")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--strict", action="store_true",
                   help="treat data warnings (values made missing, rows skipped) as errors")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("chat", help="talk to the agent in the terminal (streams progress and the reply)",
                       epilog=CHAT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_domain(p)
    p.add_argument("--once", metavar="TEXT", help="answer one message and exit (for scripts)")
    p.add_argument("--user", default="default", help="user id: profiles and threads are per user")
    p.add_argument("--thread", default=None, help="conversation id (default: the user's last one)")
    for name in ("mode", "style", "rank"):
        p.add_argument(f"--{name}", type=_setting(name), default=CHOICES[name][0],
                       metavar="|".join(CHOICES[name]), help=HELP[name])
    p.add_argument("--critic", choices=["rules", "llm"], default="rules",
                   help="rules: code checks each attempt; llm: also an LLM critic (one more call per attempt)")
    p.add_argument("--no-build", action="store_true", help="fail instead of building an unbuilt domain")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("info", help="show a built domain's table schema and build stats")
    _add_domain(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sql", help="run a read-only SELECT on the item table (as the agent's look-up tool does)")
    _add_domain(p)
    p.add_argument("query")
    p.add_argument("--limit", type=_row_limit, default=20, help="most rows to print (1..10000)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("resolve", help="match free text to catalog titles")
    _add_domain(p)
    p.add_argument("title")
    p.add_argument("-k", type=int, default=5)
    p.set_defaults(func=cmd_resolve)
    for module in PLUGGED:  # subcommands that live with their feature (train, eval, serve)
        importlib.import_module(module).register(sub, _add_domain)
    return parser


def run(argv: list[str] | None = None) -> int:
    from models.config import DomainError

    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return func(args)
    except DomainError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> Any:
    sys.exit(run(argv))


if __name__ == "__main__":
    main()
