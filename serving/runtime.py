"""What the routes share once the app has started: the agent, the settings and the run config builder.

One place builds every run's config, so LangServe and the native routes give the graph the same
thread namespacing, user identity and tracing metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Path, Request

from graph.agent import Agent
from graph.context import SettingError, check
from serving.auth import Identity
from serving.settings import Settings


@dataclass
class Runtime:
    agent: Agent
    settings: Settings
    callbacks: list[Any] = field(default_factory=list)  # the LangSmith tracer when tracing is on
    running: dict[str, int] = field(default_factory=dict)  # internal thread id -> turns in flight here
    # "" for the default domain (its thread ids are those of a one-domain server); a further domain's
    # name, so the same user and thread id in two catalogs are two conversations in the shared checkpointer
    namespace: str = ""

    @property
    def domain_name(self) -> str:
        return str(self.agent.deps.domain.name)

    def run_config(self, ident: Identity, thread_id: str, mode: str = "accuracy",
                   reply_style: str = "concise", rank: str = "tools") -> dict[str, Any]:
        internal = ident.thread(thread_id) + (f"@{self.namespace}" if self.namespace else "")  # '@' is never in an id
        try:  # the request models check these too; LangServe's config reaches here unchecked
            mode, reply_style, rank = check("mode", mode), check("style", reply_style), check("rank", rank)
        except SettingError as e:
            raise HTTPException(422, str(e)) from None
        extra = {"rank": rank} if rank != "tools" else {}  # an LLM re-rank of the tools' top items
        cfg = self.agent.config(internal, ident.user_id, mode=mode, reply_style=reply_style, **extra)
        cfg["metadata"] = {"user_id": ident.user_id, "thread_id": internal, "domain": self.domain_name,
                           "mode": mode, "reply_style": reply_style, **extra}
        cfg["tags"] = ["interec", f"domain:{self.domain_name}", f"user:{ident.user_id}"]
        if self.callbacks:
            cfg["callbacks"] = list(self.callbacks)
        return cfg


def runtime_of(request: Request) -> Runtime:
    """The default domain's runtime, or under /d/{domain}/... that domain's."""
    name = request.path_params.get("domain")
    rt = getattr(request.app.state, "runtime", None)
    if rt is None:
        raise HTTPException(503, "the agent is still starting")
    if name is None:
        return rt
    runtimes: dict[str, Runtime] = getattr(request.app.state, "runtimes", None) or {rt.domain_name: rt}
    if name not in runtimes:
        raise HTTPException(404, f"no domain '{name}' on this server; it serves {', '.join(runtimes)}")
    return runtimes[name]


def domain_path_param(domain: str = Path(description="a served domain's name (GET /domains lists them)")) -> str:
    """Declares /d/{domain} in the OpenAPI schema of the per-domain routes; runtime_of reads it."""
    return domain
