"""`python app.py serve`: the HTTP API and web chat under uvicorn (app.py registers this module)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_DOMAIN = "data/movielens"


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("error: serving needs the serve extra: pip install -e '.[serve]'", file=sys.stderr)
        return 2
    from models.build import load_domain
    from serving.settings import Settings

    # Build (or check) every domain once here, so workers never race to build it.
    paths = list(dict.fromkeys(args.domain or [DEFAULT_DOMAIN]))
    names = [load_domain(d, args.artifacts, build=not args.no_build, progress=True).name for d in paths]
    if len(set(names)) < len(names):
        print(f"error: two --domain folders have the same domain name ({', '.join(names)}); "
              "each served catalog needs its own name", file=sys.stderr)
        return 2
    resolved = [str(Path(d).resolve()) for d in paths]
    os.environ["INTEREC_DOMAIN"] = resolved[0]
    if len(resolved) > 1:  # the first is the default (un-prefixed routes); every one is under /d/{name}/
        os.environ["INTEREC_DOMAINS"] = ",".join(resolved)
    else:
        os.environ.pop("INTEREC_DOMAINS", None)
    if args.artifacts:
        os.environ["INTEREC_ARTIFACTS"] = str(Path(args.artifacts).resolve())
    os.environ["INTEREC_CRITIC"] = args.critic
    try:
        Settings.from_env()  # bad INTEREC_API_KEYS etc. fail here with one line, not in every worker
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("INTEREC_API_KEYS"):
        print(f"warning: listening on {args.host} without INTEREC_API_KEYS: anyone who can reach it can chat "
              "and read any user's profile by naming it in X-User-Id", file=sys.stderr)
    uvicorn.run("serving.app:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, timeout_graceful_shutdown=10)
    return 0


def register(subparsers: Any, add_domain: Callable[[argparse.ArgumentParser], None]) -> None:
    p = subparsers.add_parser("serve", help="HTTP API (LangServe /agent, SSE /chat/stream) and web chat at /",
                              conflict_handler="resolve")
    add_domain(p)
    p.add_argument("--domain", action="append", default=None, metavar="DOMAIN",
                   help=f"domain folder (default {DEFAULT_DOMAIN}); repeat it to serve several catalogs with one LLM: "
                        "each under /d/{name}/..., the first also at the plain routes")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes; more than one needs a shared checkpointer (INTEREC_CHECKPOINT_URL=postgresql://...) "
                        "and Chroma server (INTEREC_CHROMA_HOST) - see docs/DEPLOY.md")
    p.add_argument("--critic", choices=["rules", "llm"], default="rules")
    p.add_argument("--no-build", action="store_true", help="fail instead of building an unbuilt domain")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=cmd_serve)
