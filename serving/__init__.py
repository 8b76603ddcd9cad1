"""HTTP serving for the interec agent: FastAPI app (LangServe routes, SSE chat, web page), CLI, tracing."""
