"""llamaindex_adapter: ``RouteLLM``, a LlamaIndex LLM that routes each call through routellm_plugins.

Use it wherever LlamaIndex takes an LLM (``Settings.llm``, ``index.as_query_engine(llm=...)``,
``index.as_chat_engine(llm=...)``, ``FunctionAgent(llm=...)``)::

    from llamaindex_adapter import RouteLLM

    llm = RouteLLM(strong=OpenAI(model="gpt-4o"), weak=OpenAI(model="gpt-4o-mini"), strong_share=0.3)
    llm = RouteLLM.from_config("routing.yaml")  # children as {"class": "pkg.module.LLMClass", "kwargs": {...}}

Settings are the shared vocabulary of :mod:`routellm_plugins.settings` (same names, meanings and
defaults as the other adapters); the router used when none is named is
``routellm_plugins.registry.DEFAULT_ROUTER``.

What it routes on (first that applies):

1. a ``route_on`` callable (``messages -> text``);
2. template calls (``predict``/``stream``/``structured_predict`` and async forms, which query engines,
   response synthesizers and chat engines' condense steps use): the ``query_str`` or ``question``
   variable (``query_template_vars``), never the retrieved ``context_str`` or the chat history;
3. chat and completion calls: the last user message (ReAct "Observation:" tool outputs are skipped),
   or the whole conversation with ``route_on="conversation"``; a LlamaIndex QA, refine or condense
   prompt is cut to its question.

Unscorable text (empty, images only, no user message) goes to the fallback model, flagged. One agent
turn is one decision: the later steps of a tool loop reuse it (``sticky: true``).

What it reports: :meth:`RouteLLM.decision_of` reads the decision from a ChatResponse, its message,
an agent result, a CompletionResponse, a stream chunk or a query-engine Response
(``metadata["routellm"]``); every decision is dispatched as a :class:`RoutingDecisionEvent`
(collect them with :class:`RoutingDecisionLog`). RouteLLM emits no LLM start/end events itself: the
child does, once. A callback manager set on RouteLLM (as ``Settings`` does) is shared with children
that have none of their own.

Importing this package loads no model, reads no key and registers nothing; the first RouteLLM
registers one event handler on LlamaIndex's root dispatcher (to tag query-engine responses).
"""

from llamaindex_adapter.events import RoutingDecisionEvent, RoutingDecisionLog
from llamaindex_adapter.llm import RouteLLM
from llamaindex_adapter.routing_text import extract_query
from llamaindex_adapter.tags import DECISION_KEY, decision_of

__all__ = ["DECISION_KEY", "RouteLLM", "RoutingDecisionEvent", "RoutingDecisionLog", "decision_of", "extract_query"]
