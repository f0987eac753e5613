"""A LlamaIndex query engine whose LLM is RouteLLM: each question goes to a strong or a weak model.

Runs offline: the children are mock LLMs that say who they are, the index uses MockEmbedding,
and the router is the bundled ``mf`` checkpoint (``random`` until one is bundled).
RouteLLM routes on the question (the ``query_str`` template variable), not on the retrieved context.

    python examples/llamaindex_query_engine.py
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata  # noqa: E402
from llama_index.core.embeddings import MockEmbedding  # noqa: E402
from llama_index.core.llms import CustomLLM  # noqa: E402
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402

from routellm_plugins.errors import CheckpointError  # noqa: E402
from routellm_plugins.registry import bundled_checkpoint  # noqa: E402
from llamaindex_adapter import RouteLLM, RoutingDecisionLog  # noqa: E402


class CannedLLM(CustomLLM):
    """A stand-in for a hosted model: answers with its own name and the question it was asked."""

    model: str = "mock"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model, context_window=8192, num_output=256)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        question = prompt.rsplit("Query:", 1)[-1].split("\n", 1)[0].strip()
        return CompletionResponse(text=f"({self.model}) my answer to {question!r}")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        yield self.complete(prompt, formatted=formatted, **kwargs)


def pick_router() -> str:
    """The bundled ``mf`` router when its checkpoint ships with the package, else ``random``."""
    try:
        bundled_checkpoint("mf")
        return "mf"
    except CheckpointError:
        return "random"


DOCS = [
    "Euclid proved that there are infinitely many prime numbers.",
    "The derivative of sin(x) is cos(x); the integral of 1/x is ln|x|.",
    "Paris is the capital of France. The Eiffel Tower is in Paris.",
    "Water boils at 100 degrees Celsius at sea level.",
]
QUESTIONS = [
    "What is the capital of France?",
    "Prove that there are infinitely many primes, and explain each step rigorously.",
    "At what temperature does water boil?",
    "Derive the integral of 1/x and explain why the absolute value is needed.",
]


def main() -> None:
    router = pick_router()
    llm = RouteLLM(
        strong=CannedLLM(model="big-model"),
        weak=CannedLLM(model="small-model"),
        router=router,
        strong_share=0.5,  # send about half of typical traffic to the strong model
    )
    index = VectorStoreIndex.from_documents([Document(text=t) for t in DOCS], embed_model=MockEmbedding(embed_dim=16))
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    log = RoutingDecisionLog.attach()
    print(f"router: {router} (threshold {llm.controller.current_threshold:.3f})\n")
    try:
        for question in QUESTIONS:
            answer = engine.query(question)
            decision = log.events[-1].decision
            score = "n/a" if decision["score"] is None else f"{decision['score']:.3f}"
            print(f"Q: {question}\n   -> {decision['model']} model (score {score}, routed on {log.events[-1].routing_text_source})")
            print(f"   A: {answer}\n")
    finally:
        log.detach()


if __name__ == "__main__":
    main()
