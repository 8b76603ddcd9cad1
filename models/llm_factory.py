"""The one chat-model factory: the configured backend as a LangChain chat model.

It sits above models/llm.py (settings, errors) and the backends (local_llm, openai_chat), which import only
models/llm.py, so no import goes back up. The backends are imported on use: they pull in langchain_openai,
httpx and xllamacpp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.llm import DEFAULT_OPENAI_MODEL, LLMConfigError, LLMSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def get_chat_model(settings: LLMSettings | None = None) -> BaseChatModel:
    """Build the configured chat model (a ChatOpenAI subclass, or AzureChatOpenAI for "azure").

    Network failures surface as LLMUnavailable after `max_retries` retries; no other provider is tried.
    """
    from models import openai_chat as _chat  # lazy: pulls in langchain_openai and httpx

    s = settings or LLMSettings.from_env()
    if s.provider == "local":
        from models.local_llm import ensure_local_server

        server = ensure_local_server(s)
        return _chat.build_openai(s, base_url=server.base_url, api_key=server.api_key, model=server.alias)
    if s.provider == "openai":
        if not s.api_key:
            raise LLMConfigError(
                "INTEREC_LLM_PROVIDER=openai needs an API key: set INTEREC_LLM_API_KEY or OPENAI_API_KEY "
                "(or use INTEREC_LLM_PROVIDER=local for the embedded model)"
            )
        return _chat.build_openai(
            s, base_url=s.endpoint, api_key=s.api_key, model=s.model or DEFAULT_OPENAI_MODEL
        )
    missing = [
        name
        for name, value in (
            ("INTEREC_LLM_API_KEY or AZURE_OPENAI_API_KEY", s.api_key),
            ("INTEREC_LLM_AZURE_ENDPOINT or AZURE_OPENAI_ENDPOINT", s.azure_endpoint),
            ("INTEREC_LLM_AZURE_DEPLOYMENT", s.azure_deployment),
        )
        if not value
    ]
    if missing:
        raise LLMConfigError("INTEREC_LLM_PROVIDER=azure needs " + ", ".join(missing))
    return _chat.build_azure(s)
