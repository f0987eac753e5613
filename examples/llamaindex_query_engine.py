"""RouteLLM as the LLM of a LlamaIndex query engine and of a chat engine: hard questions go to the
strong model, easy ones to the weak one, and every answer says which model served it.

Runs offline: the bundled default router and its encoder, an in-memory index with LlamaIndex's
MockEmbedding, and two mock LLMs standing in for paid APIs. The threshold is set for this example's
own question mix: halfway between the scores of its easier and its harder half (with real traffic,
set ``strong_share=`` or calibrate on your own logs).
RouteLLM routes on the question (the ``query_str`` template variable), never on the retrieved context,
and a chat engine's condense step on the follow-up question, never on the history.

    python examples/llamaindex_query_engine.py
"""

from __future__ import annotations

from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

from llamaindex_adapter import RouteLLM, RoutingDecisionLog, extract_query
from routellm_plugins import load_router

DOCS = [
    "Paris is the capital of France. Bonjour means hello in French.",
    "Water boils at 100 degrees Celsius at sea level.",
    "A palindrome reads the same forwards and backwards; expanding around each centre finds the longest one.",
    "The sum of the first n odd numbers is n squared; induction proves such identities.",
]
QUESTIONS = [
    "Say hello in French.",
    "What is the capital of France?",
    "At what temperature does water boil?",
    "Write a Python function that returns the longest palindromic substring of a string in O(n^2) time, with tests.",
    "Prove that for every integer n >= 1 the sum of the first n odd numbers equals n^2, then derive a closed form "
    "for the sum of the first n cubes and prove it by induction.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?",
]


def last_user_line(prompt: str) -> str:
    """The last ``user: ...`` line of a chat prompt flattened to text (or the last line)."""
    lines = [line.strip() for line in prompt.splitlines() if line.strip() and line.strip() != "assistant:"]
    users = [line for line in lines if line.startswith("user:")]
    return (users[-1][len("user:"):] if users else lines[-1] if lines else "").strip()


class MockHostedLLM(CustomLLM):
    """A stand-in for a hosted model: answers with its own name and the question it was given."""

    model: str = "mock"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model, context_window=8192, num_output=256)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        question = extract_query(prompt) or last_user_line(prompt)
        if "Standalone question" in prompt:  # a chat engine's condense step: the follow-up already stands alone
            return CompletionResponse(text=question)
        return CompletionResponse(text=f"({self.model}) my answer to {question[:60]!r}")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        yield self.complete(prompt, formatted=formatted, **kwargs)


def main() -> None:
    router = load_router()  # the bundled default router
    scores = sorted(float(s) for s in router.score(QUESTIONS))
    threshold = (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2  # half the questions score above it
    llm = RouteLLM(strong=MockHostedLLM(model="big-model"), weak=MockHostedLLM(model="small-model"), router=router, threshold=threshold)
    index = VectorStoreIndex.from_documents([Document(text=t) for t in DOCS], embed_model=MockEmbedding(embed_dim=16))
    print(f"router: {router.name}, threshold {threshold:.4f} (half of these questions score above it)\n")

    print("== query engine ==")
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    for question in QUESTIONS:
        answer = engine.query(question)
        tag = RouteLLM.decision_of(answer)  # also in answer.metadata["routellm"]
        print(f"{tag['model']:>6} (score {tag['score']:.4f}, routed on {tag['routing_text_source']}): {question[:70]}")
        print(f"        {answer}")

    print("\n== chat engine (condense_plus_context): each turn is routed on its own question ==")
    log = RoutingDecisionLog.attach()
    try:
        chat = index.as_chat_engine(chat_mode="condense_plus_context", llm=llm, similarity_top_k=1)
        ranked = sorted(QUESTIONS, key=lambda q: float(router.score([q])[0]))
        for message in (ranked[-1], ranked[0]):  # a hard question, then an easy follow-up
            start = len(log.events)
            reply = chat.chat(message)
            steps = ", ".join(f"{e.model} (on {e.routing_text_source})" for e in log.events[start:])
            print(f"user: {message[:70]}\n  served by: {steps}\n  {reply}")
    finally:
        log.detach()


if __name__ == "__main__":
    main()
