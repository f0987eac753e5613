"""Sticky-session policies across the turns of a conversation named with ``RouteLLM.session(id)``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, List

import pytest

from routellm_plugins import ConfigError
from llamaindex_adapter import RouteLLM, RoutingDecisionLog
from test_llamaindex_fakes import KeywordRouter, echo_pair, user

HARD = "Prove that 2 is the only even prime."
EASY = "Thanks, and what is your name?"


def _llm(policy: Any) -> RouteLLM:
    strong, weak = echo_pair()
    return RouteLLM(strong=strong, weak=weak, router=KeywordRouter(), sticky_sessions=policy)


def _turns(llm: RouteLLM, texts: List[str], session_id: str = "c1") -> List[dict]:
    with RouteLLM.session(session_id):
        return [RouteLLM.decision_of(llm.chat(user(t))) for t in texts]


def test_off_scores_every_turn_on_its_own() -> None:
    tags = _turns(_llm("off"), [HARD, EASY])
    assert [(t["model"], t["sticky"]) for t in tags] == [("strong", False), ("weak", False)]


def test_escalate_never_drops_a_conversation_to_a_cheaper_model() -> None:
    llm = _llm("escalate")
    tags = _turns(llm, [EASY, HARD, EASY])
    assert [(t["model"], t["sticky"]) for t in tags] == [("weak", False), ("strong", False), ("strong", True)]
    assert tags[2]["score"] == 0.0  # the turn was scored; the policy kept the stronger model
    other = _turns(llm, [EASY], session_id="c2")
    assert other[0]["model"] == "weak"  # another conversation is not affected


def test_first_reuses_the_first_decision_marked_sticky() -> None:
    router = KeywordRouter()
    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=router, sticky_sessions="first")
    tags = _turns(llm, [EASY, HARD])
    assert [(t["model"], t["sticky"]) for t in tags] == [("weak", False), ("weak", True)]
    assert router.seen == [EASY]  # the later turn was not scored


def test_a_policy_without_a_session_routes_each_call_alone_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    llm = _llm("escalate")
    with caplog.at_level(logging.WARNING, logger="llamaindex_adapter"):
        tags = [RouteLLM.decision_of(llm.chat(user(t))) for t in (HARD, EASY, EASY)]
    assert [t["model"] for t in tags] == ["strong", "weak", "weak"]
    warnings = [r for r in caplog.records if "RouteLLM.session" in r.getMessage()]
    assert len(warnings) == 1


def test_sessions_reach_chat_engines_and_async_calls() -> None:
    from llama_index.core.chat_engine import SimpleChatEngine

    llm = _llm("escalate")
    log = RoutingDecisionLog.attach()
    try:
        engine = SimpleChatEngine.from_defaults(llm=llm)
        with RouteLLM.session("user-7"):
            engine.chat(HARD)
            answer = asyncio.run(engine.achat(EASY))
    finally:
        log.detach()
    assert str(answer).startswith("[strong]")
    assert [(e.model, e.decision["sticky"]) for e in log.events] == [("strong", False), ("strong", True)]


async def test_concurrent_conversations_keep_their_own_sessions() -> None:
    llm = _llm("escalate")

    async def conversation(sid: str, texts: List[str]) -> List[str]:
        with RouteLLM.session(sid):
            out = []
            for t in texts:
                out.append(RouteLLM.decision_of(await llm.achat(user(t)))["model"])
                await asyncio.sleep(0)
            return out

    a, b = await asyncio.gather(conversation("a", [HARD, EASY, EASY]), conversation("b", [EASY, EASY, EASY]))
    assert a == ["strong", "strong", "strong"] and b == ["weak", "weak", "weak"]


@pytest.mark.parametrize("bad", [None, "", "   ", 42, ["x"]])
def test_a_session_id_must_be_a_non_empty_string(bad: Any) -> None:
    with pytest.raises(ConfigError, match="session id"):
        with RouteLLM.session(bad):
            pass


def test_a_bad_policy_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="sometimes"):
        _llm("sometimes")
