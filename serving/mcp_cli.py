"""`python app.py mcp`: serve the domain's tools over MCP on stdio (default) or streamable HTTP (app.py registers it)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cmd_mcp(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError:
        print("error: the MCP server needs the mcp extra: pip install -e '.[mcp]'", file=sys.stderr)
        return 2
    import anyio

    from memory.paths import memory_dir
    from models.build import load_domain
    from models.tracing import configure_from_env
    from serving import mcp_server as ms
    from tools.context import ToolContext

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    hostport = None
    if args.http:
        try:
            hostport = ms.parse_host_port(args.http)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    # stdio: stdout belongs to the protocol from here on (progress bars and notes go to stderr)
    stdout = None
    if hostport is None:
        stdout = ms.protocol_stdout()
    configure_from_env()  # LANGSMITH_TRACING=true: traces of `chat` turns, with a bounded client
    domain = load_domain(args.domain, args.artifacts, build=not args.no_build, progress=True)
    mem = Path(args.memory_dir).expanduser() if args.memory_dir else memory_dir()
    mem.mkdir(parents=True, exist_ok=True)
    app = ms.McpApp(ToolContext(domain), ms.default_agent_factory(mem, args.critic))
    if hostport is None:
        anyio.run(ms.serve_stdio, app, stdout)
        return 0
    import uvicorn

    host, port = hostport
    if host not in ms.LOOPBACK:
        print(f"warning: MCP over HTTP on {host} has no authentication: anyone who can reach it can use the tools "
              "and chat as any user", file=sys.stderr)
    print(f"interec MCP (streamable HTTP) at http://{args.http}/mcp", file=sys.stderr)
    uvicorn.run(ms.http_app(app, host), host=host, port=port, log_level="warning")
    return 0


def register(subparsers: Any, add_domain: Callable[[argparse.ArgumentParser], None]) -> None:
    p = subparsers.add_parser("mcp", help="MCP server: the catalog's tools, a chat tool and the schema resource "
                                          "(stdio; --http HOST:PORT for streamable HTTP)")
    add_domain(p)
    p.add_argument("--http", metavar="HOST:PORT", default=None,
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (no auth: keep it on loopback)")
    p.add_argument("--memory-dir", default=None, help="profiles and threads of `chat` (default $INTEREC_MEMORY_DIR)")
    p.add_argument("--critic", choices=["rules", "llm"], default="rules")
    p.add_argument("--no-build", action="store_true", help="fail instead of building an unbuilt domain")
    p.set_defaults(func=cmd_mcp)
