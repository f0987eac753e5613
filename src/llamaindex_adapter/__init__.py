"""llamaindex_adapter: ``RouteLLM``, a LlamaIndex LLM that routes each call through routellm_plugins.

Use it wherever LlamaIndex takes an LLM (``Settings.llm``, ``index.as_query_engine(llm=...)``,
``FunctionAgent(llm=...)``)::

    from llamaindex_adapter import RouteLLM

    llm = RouteLLM(strong=OpenAI(model="gpt-4o"), weak=OpenAI(model="gpt-4o-mini"), router="mf", strong_share=0.3)
    llm = RouteLLM.from_config("routing.yaml")  # children as {"class": "pkg.module.LLMClass", "kwargs": {...}}

What it routes on (first that applies):

1. ``routing_text_fn(messages)``, when given;
2. template calls (``predict``/``stream``/``structured_predict`` and async forms, which query engines and
   response synthesizers use): the ``query_str`` variable of the prompt template (``query_template_vars``
   names others), never the retrieved ``context_str``;
3. chat and completion calls: the last user message (ReAct "Observation:" tool outputs are skipped);
   a LlamaIndex QA or refine prompt (context, then ``Query: ...`` and an ``Answer:`` cue) is cut to its query.

Unscorable text (empty, images only, no user message) goes to the fallback model, flagged.

What it reports: every response carries the decision in ``additional_kwargs["routellm"]`` (agent
responses in ``metadata["routellm"]``); every decision is dispatched as a :class:`RoutingDecisionEvent`
(collect them with :class:`RoutingDecisionLog`). RouteLLM emits no LLM start/end events itself: the child
does, once. A callback manager set on RouteLLM (as ``Settings`` does) is shared with children that
have none of their own.

Importing this package loads no model and reads no key.
"""

from llamaindex_adapter.delegate import DECISION_KEY
from llamaindex_adapter.events import RoutingDecisionEvent, RoutingDecisionLog
from llamaindex_adapter.llm import RouteLLM
from llamaindex_adapter.routing_text import extract_query

__all__ = ["DECISION_KEY", "RouteLLM", "RoutingDecisionEvent", "RoutingDecisionLog", "extract_query"]
