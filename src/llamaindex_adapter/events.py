"""The LlamaIndex instrumentation event RouteLLM emits per routing decision, and a handler that collects them."""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.instrumentation import Dispatcher, NullEventHandler, get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

from llamaindex_adapter.responses import ResponseTagger


class RoutingDecisionEvent(BaseEvent):
    """One routing decision (or a failover to another model) made by RouteLLM.

    ``decision`` is :meth:`routellm_plugins.Decision.to_dict`; ``model`` is the key that serves
    the call; ``entry_point`` the RouteLLM method; ``routing_text_source`` where the routed text came
    from; ``failover_from`` the key whose failure caused this decision (None for a first decision).
    The routed text itself is never put in the event.
    """

    decision: Dict[str, Any]
    model: str
    entry_point: str
    routing_text_source: str
    failover_from: Optional[str] = None

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "RoutingDecisionEvent"


def has_listeners(dispatcher: Dispatcher) -> bool:
    """Whether an event sent to ``dispatcher`` reaches any handler other than LlamaIndex's NullEventHandler
    and RouteLLM's own response tagger."""
    current: Optional[Dispatcher] = dispatcher
    while current is not None:
        if any(not isinstance(h, (NullEventHandler, ResponseTagger)) for h in current.event_handlers):
            return True
        current = current.parent if current.propagate else None
    return False


class RoutingDecisionLog(BaseEventHandler):
    """An event handler that keeps every RoutingDecisionEvent it sees (for logs, tests and demos).

    ``RoutingDecisionLog.attach()`` adds one to the root dispatcher; ``detach()`` removes it.
    """

    events: List[RoutingDecisionEvent] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "RoutingDecisionLog"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Keep ``event`` if it is a routing decision."""
        if isinstance(event, RoutingDecisionEvent):
            with self._lock:
                self.events.append(event)

    @property
    def models(self) -> List[str]:
        """The serving model key of each kept decision, in order."""
        return [e.model for e in self.events]

    @classmethod
    def attach(cls) -> "RoutingDecisionLog":
        """A new log registered on LlamaIndex's root dispatcher."""
        log = cls()
        get_dispatcher().add_event_handler(log)
        return log

    def detach(self) -> None:
        """Unregister from the root dispatcher (no-op if not registered)."""
        root = get_dispatcher()
        root.event_handlers = [h for h in root.event_handlers if h is not self]
