"""Which text a LlamaIndex call is routed on: the user's question, not the retrieved context or the history.

Rules, first that applies (see :class:`llamaindex_adapter.RouteLLM`):

1. a ``route_on`` callable (``messages -> text``);
2. for template calls (``predict``/``stream``/``structured_predict``... as query engines and chat
   engines make them): the first template variable in ``query_template_vars`` (``query_str``, then
   ``question``, the follow-up of a condense step), read from the call's arguments or the
   template's partially formatted ones;
3. ``route_on="conversation"``: every system, user and assistant text of the conversation;
4. the last user message (ReAct "Observation:" tool outputs, which ReAct sends as user messages
   after an assistant step, are skipped); if it is one of LlamaIndex's question-answering, refine or
   condense prompts, only the query (or follow-up question) inside it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock

from routellm_plugins.errors import ConfigError
from routellm_plugins.settings import ROUTE_ON_CONVERSATION, ROUTE_ON_LAST_USER

RoutingTextFn = Callable[[Sequence[ChatMessage]], Optional[str]]
#: ``"last_user"``, ``"conversation"`` or a callable ``messages -> text``.
RouteOn = Union[str, RoutingTextFn]
ROUTE_ON_MODES = (ROUTE_ON_LAST_USER, ROUTE_ON_CONVERSATION)

#: (start marker, end marker, closing cue, source label): the query sits between the start and end
#: markers, and the prompt must end with the closing cue (so ordinary text that mentions "Query:" is kept).
_QUERY_PATTERNS: Tuple[Tuple[str, str, str, str], ...] = (
    ("Query: ", "\nAnswer:", "Answer:", "qa_template"),  # text QA and tree-summarize templates
    ("Query: ", "\nOriginal Answer:", "New Answer:", "qa_template"),  # chat refine template
    ("The original query is as follows: ", "\nWe have provided an existing answer:", "Refined Answer:", "qa_template"),
    # condense steps of chat engines: the follow-up question, not the history before it
    ("<Follow Up Message>\n", "\n<Standalone question>", "<Standalone question>", "condense_template"),
    ("Follow Up Input: ", "Standalone question:", "Standalone question:", "condense_template"),
)

#: How LlamaIndex's ReAct formatter writes tool outputs, which it sends as user messages.
_REACT_OBSERVATION = "Observation:"


def check_route_on(value: Any) -> RouteOn:
    """``value`` if it is ``"last_user"``, ``"conversation"`` or a callable, else ConfigError naming it."""
    if callable(value) or (isinstance(value, str) and value in ROUTE_ON_MODES):
        return value
    shown = f"{value!r:.60}" if isinstance(value, str) else type(value).__name__
    raise ConfigError(f"route_on must be one of {list(ROUTE_ON_MODES)} or a callable(messages) -> text, got {shown}")


def message_text(message: Any) -> Optional[str]:
    """The text blocks of a ChatMessage joined by newlines, or None when it has no text."""
    blocks = getattr(message, "blocks", None)
    if not isinstance(blocks, list):
        return None
    parts = [b.text for b in blocks if isinstance(b, TextBlock) and isinstance(b.text, str)]
    return "\n".join(parts) if parts else None


def _is_react_observation(messages: Sequence[Any], i: int) -> bool:
    """A ReAct agent's tool output: a user message "Observation: ..." right after an assistant step."""
    if i == 0 or getattr(messages[i - 1], "role", None) != MessageRole.ASSISTANT:
        return False
    text = message_text(messages[i])
    return text is not None and text.startswith(_REACT_OBSERVATION)


def last_user_index(messages: Sequence[Any]) -> Optional[int]:
    """Index of the last user message that is a question (not a ReAct "Observation:" tool output), or None."""
    for i in range(len(messages) - 1, -1, -1):
        if getattr(messages[i], "role", None) == MessageRole.USER and not _is_react_observation(messages, i):
            return i
    return None


def _query_in(text: str) -> Optional[Tuple[str, str]]:
    """(query, source label) inside a LlamaIndex QA/refine/condense prompt, or None."""
    tail = text.rstrip()
    for start, end, cue, label in _QUERY_PATTERNS:
        if not tail.endswith(cue):
            continue
        i = tail.rfind(start)
        if i < 0:
            continue
        j = tail.find(end, i + len(start))
        if j < 0:
            continue
        query = tail[i + len(start) : j].strip()
        if query:
            return query, label
    return None


def extract_query(text: str) -> Optional[str]:
    """The query inside a LlamaIndex QA/refine prompt (``...Query: q\\nAnswer:``) or the follow-up
    question inside a chat engine's condense prompt, or None if ``text`` is neither."""
    found = _query_in(text)
    return None if found is None else found[0]


def text_for_routing(text: Optional[str]) -> Tuple[Optional[str], str]:
    """(routing text, source) for a prompt or user message: its query if it is a QA/condense prompt, else itself."""
    if text is None:
        return None, "none"
    found = _query_in(text)
    if found is not None:
        return found
    return text, "message"


def from_messages(messages: Sequence[ChatMessage], route_on: str = ROUTE_ON_LAST_USER) -> Tuple[Optional[str], str]:
    """(routing text, source) for a chat call: the last user message cut to its query, or the whole conversation."""
    if route_on == ROUTE_ON_CONVERSATION:
        texts = [
            t
            for i, m in enumerate(messages)
            if getattr(m, "role", None) in (MessageRole.SYSTEM, MessageRole.USER, MessageRole.ASSISTANT)
            and not _is_react_observation(messages, i)
            for t in (message_text(m),)
            if t and t.strip()
        ]
        return ("\n\n".join(texts), "conversation") if texts else (None, "none")
    idx = last_user_index(messages)
    if idx is None:
        return None, "none"
    return text_for_routing(message_text(messages[idx]))


def from_template(
    prompt: Any, prompt_args: Mapping[str, Any], query_vars: Sequence[str]
) -> Tuple[Optional[str], str]:
    """(query, "template:<var>") from a prompt template call, or (None, "none") if no query variable is set."""
    partial = getattr(prompt, "kwargs", None) or {}
    for var in query_vars:
        value = prompt_args.get(var)
        if value is None and isinstance(partial, Mapping):
            value = partial.get(var)
        if value is not None:
            return str(value), f"template:{var}"
    return None, "none"


def turn_key(messages: Sequence[ChatMessage], session: Optional[str] = None) -> Optional[str]:
    """A key for one user turn (the conversation up to its last user message, and the session), or None.

    Every step of an agent's tool loop shares it. Built from Python's (per-process) hash of roles
    and texts: for in-memory use only.
    """
    idx = last_user_index(messages)
    if idx is None:
        return None
    parts = (session, tuple((getattr(m, "role", None), message_text(m)) for m in messages[: idx + 1]))
    return f"turn-{idx}-{hash(parts) & 0xFFFFFFFFFFFFFFFF:016x}"


def is_continuation(messages: Sequence[ChatMessage]) -> bool:
    """True when messages follow the last user question (an agent's tool calls and results): a later step of a turn."""
    idx = last_user_index(messages)
    return idx is not None and idx < len(messages) - 1


def as_messages(user_msg: Any = None, chat_history: Optional[Sequence[ChatMessage]] = None) -> list:
    """The message list a ``*_with_tools`` call amounts to: history, then the user message if any."""
    messages = list(chat_history or [])
    if isinstance(user_msg, str):
        messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
    elif user_msg is not None:
        messages.append(user_msg)
    return messages
