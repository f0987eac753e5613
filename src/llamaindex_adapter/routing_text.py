"""Which text a LlamaIndex call is routed on: the user's question, not the retrieved context.

Rules, first that applies (see :class:`llamaindex_adapter.RouteLLM`):

1. a user ``routing_text_fn(messages)``;
2. for template calls (``predict``/``stream``/``structured_predict``... as query engines make them):
   the first template variable in ``query_template_vars`` (``query_str`` by default), read from
   the call's arguments or the template's partially formatted ones;
3. the last user message (ReAct "Observation:" tool outputs, which ReAct sends as user messages
   after an assistant step, are skipped); if it is a LlamaIndex question-answering or refine prompt (context
   followed by ``Query: ...`` and an ``Answer:`` cue), only the query line(s).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock

RoutingTextFn = Callable[[Sequence[ChatMessage]], Optional[str]]

#: (start marker, end marker, closing cue): the query sits between the start and end markers,
#: and the prompt must end with the closing cue (so ordinary text that mentions "Query:" is kept).
_QA_PATTERNS: Tuple[Tuple[str, str, str], ...] = (
    ("Query: ", "\nAnswer:", "Answer:"),  # text QA and tree-summarize templates
    ("Query: ", "\nOriginal Answer:", "New Answer:"),  # chat refine template
    ("The original query is as follows: ", "\nWe have provided an existing answer:", "Refined Answer:"),
)


#: How LlamaIndex's ReAct formatter writes tool outputs, which it sends as user messages.
_REACT_OBSERVATION = "Observation:"


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


def extract_query(text: str) -> Optional[str]:
    """The query inside a LlamaIndex QA/refine prompt (``...Query: q\\nAnswer:``), or None if ``text`` is not one."""
    tail = text.rstrip()
    for start, end, cue in _QA_PATTERNS:
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
            return query
    return None


def text_for_routing(text: Optional[str]) -> Tuple[Optional[str], str]:
    """(routing text, source) for a prompt or user message: its query if it is a QA prompt, else itself."""
    if text is None:
        return None, "none"
    query = extract_query(text)
    if query is not None:
        return query, "qa_template"
    return text, "message"


def from_messages(messages: Sequence[ChatMessage]) -> Tuple[Optional[str], str]:
    """(routing text, source) for a chat call: the last user message, stripped to its query."""
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


def conversation_key(messages: Sequence[ChatMessage]) -> Optional[str]:
    """A key for the conversation up to its last user message (one agent turn), or None.

    Every step of a tool-calling loop shares it, so a sticky controller keeps one model per turn.
    Built from Python's (per-process) hash of roles and texts: in-memory use only.
    """
    idx = last_user_index(messages)
    if idx is None:
        return None
    parts = tuple((getattr(m, "role", None), message_text(m)) for m in messages[: idx + 1])
    return f"turn-{idx}-{hash(parts) & 0xFFFFFFFFFFFFFFFF:016x}"


def as_messages(user_msg: Any = None, chat_history: Optional[Sequence[ChatMessage]] = None) -> list:
    """The message list a ``*_with_tools`` call amounts to: history, then the user message if any."""
    messages = list(chat_history or [])
    if isinstance(user_msg, str):
        messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
    elif user_msg is not None:
        messages.append(user_msg)
    return messages
