"""RouteLLM from config data (dict / YAML, children as LLM class paths) and clear errors for bad configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from llama_index.core.llms import MockLLM

from routellm_plugins import ConfigError, RoutingController, load_router
from llamaindex_adapter import DECISION_KEY, RouteLLM
from test_llamaindex_fakes import EchoLLM, KeywordRouter, echo_pair, user

MOCK = "llama_index.core.llms.MockLLM"


def _config(**extra: Any) -> Dict[str, Any]:
    cfg: Dict[str, Any] = {
        "router": "random",
        "threshold": 0.0,
        "models": {
            "strong": {"class": MOCK, "kwargs": {"max_tokens": 2}},
            "weak": {"class": "llama_index.core.llms:MockLLM", "kwargs": {"max_tokens": 5}},
        },
    }
    cfg.update(extra)
    return cfg


def test_from_config_dict_builds_children_from_class_paths() -> None:
    llm = RouteLLM.from_config(_config(failover=True, query_template_vars=["question"]))
    assert isinstance(llm.models["strong"], MockLLM) and llm.models["weak"].max_tokens == 5
    assert llm.failover is True and llm.query_template_vars == ("question",)
    assert llm.controller.threshold == 0.0 and llm.controller.sticky_policy == "off"  # the shared default
    resp = llm.complete("anything")
    assert resp.text == "text text" and resp.additional_kwargs[DECISION_KEY]["model"] == "strong"


def test_from_config_yaml_file_with_strong_and_weak_keys(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "router: router-random-1.0\n"  # RouteLLM model string: threshold 1.0 -> always weak
        "fallback: weak\n"
        "timeout_s: 2\n"
        "sticky_sessions: false\n"
        f"strong: {{class: {MOCK}}}\n"
        f"weak: {{class: {MOCK}, kwargs: {{max_tokens: 1}}}}\n",
        encoding="utf-8",
    )
    llm = RouteLLM.from_config(path)
    assert llm.controller.fallback == "weak" and llm.controller.timeout_s == 2.0
    assert llm.controller.sticky_sessions is False
    assert llm.chat(user("hi")).additional_kwargs[DECISION_KEY]["model"] == "weak"


def test_prebuilt_controller_and_router_instances_are_accepted() -> None:
    strong, weak = echo_pair()
    ctrl = RoutingController(load_router("random", seed=0), threshold=1.0, fallback="weak")
    llm = RouteLLM(strong=strong, weak=weak, controller=ctrl)
    assert llm.controller is ctrl and llm.complete("x").text.startswith("[weak]")
    by_dict = RouteLLM(strong=strong, weak=weak, controller={"router": "random", "strong_share": 1.0})
    assert by_dict.complete("x").text.startswith("[strong]")


def test_overrides_reach_init() -> None:
    fn = lambda messages: "x"  # noqa: E731
    llm = RouteLLM.from_config(_config(route_on="conversation", failover=True), route_on=fn)
    assert llm.route_on is fn and llm.failover is True  # overrides win over the file


BAD_CONFIGS = [
    (_config(router="no_such_router"), "no_such_router"),
    (_config(threshold=1.5), "1.5"),
    (_config(threshold="high"), "high"),
    (_config(fallback="medium"), "medium"),
    (_config(colour="blue"), "colour"),
    (_config(models={"strong": {"class": MOCK}}), "missing ['weak']"),
    (_config(models={"strong": {"class": MOCK}, "weak": {"class": MOCK}, "tiny": {"class": MOCK}}), "tiny"),
    (_config(models={"strong": {"class": "no.such.module.LLM"}, "weak": {"class": MOCK}}), "no.such.module"),
    (_config(models={"strong": {"class": "llama_index.core.llms.NoSuchLLM"}, "weak": {"class": MOCK}}), "NoSuchLLM"),
    (_config(models={"strong": {"class": "collections.OrderedDict"}, "weak": {"class": MOCK}}), "collections.OrderedDict"),
    (_config(models={"strong": {"class": MOCK, "kwargs": {"max_tokens": "lots"}}, "weak": {"class": MOCK}}), "max_tokens"),
    (_config(models={"strong": {"class": MOCK, "kwarg": {}}, "weak": {"class": MOCK}}), "kwarg"),
    (_config(models={"strong": {"kwargs": {}}, "weak": {"class": MOCK}}), "'strong' needs a 'class'"),
    (_config(models=["strong", "weak"]), "list"),
    (_config(failover="yes"), "yes"),
    (_config(sticky_sessions="yes"), "yes"),
    (_config(query_template_vars=[1]), "[1]"),
    (_config(router="mf", threshold=None, strong_share=0.5, checkpoint="/no/such/dir"), "/no/such/dir"),
    (_config(threshold=0.2, strong_share=0.5), "strong_share"),
]


@pytest.mark.parametrize("cfg,named", BAD_CONFIGS, ids=[n for _, n in BAD_CONFIGS])
def test_bad_configuration_raises_config_error_naming_the_value(cfg: Dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        RouteLLM.from_config(cfg)
    assert named in str(info.value)


def test_bad_config_file_paths_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        RouteLLM.from_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        RouteLLM.from_config(bad)


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"strong": EchoLLM(name="s")}, "missing ['weak']"),
        ({"strong": "gpt-4o", "weak": EchoLLM(name="w")}, "str"),
        ({"models": {"strong": EchoLLM(), "weak": EchoLLM()}, "weak": EchoLLM()}, "not both"),
        ({"system_prompt": "be nice"}, "system_prompt"),
        ({"router": KeywordRouter(), "controller": {"router": "random"}}, "cannot be combined with controller="),
        ({"controller": {"router": "random", "threshold": 0.5}, "threshold": 0.1}, "threshold"),
        ({"controller": 42}, "int"),
        ({"route_on": "last message"}, "last message"),
        ({"route_on": 42}, "int"),
        ({"routing_text_fn": len}, "routing_text_fn"),
        ({"router": 3.14}, "float"),
    ],
)
def test_bad_constructor_arguments_raise_config_error(kwargs: Dict[str, Any], named: str) -> None:
    args: Dict[str, Any] = {"router": KeywordRouter()}
    if "models" not in kwargs and "strong" not in kwargs:
        args.update(strong=EchoLLM(name="s"), weak=EchoLLM(name="w"))
    if "controller" in kwargs and "router" not in kwargs:
        args.pop("router")
    args.update(kwargs)
    with pytest.raises(ConfigError) as info:
        RouteLLM(**args)
    assert named in str(info.value)


def test_missing_bundled_checkpoint_is_a_config_error_naming_the_router() -> None:
    from routellm_plugins.registry import CHECKPOINT_DIR

    if (CHECKPOINT_DIR / "sw_ranking" / "router.json").is_file():
        spec = {"router": "sw_ranking", "checkpoint": "/no/such/checkpoint"}
    else:
        spec = "sw_ranking"
    strong, weak = echo_pair()
    with pytest.raises(ConfigError, match="sw_ranking|/no/such/checkpoint"):
        RouteLLM(strong=strong, weak=weak, router=spec, threshold=0.5)


# ---- the shared settings vocabulary (routellm_plugins.settings), in the constructor and in from_config ----
def _shared_settings(embed_calls: list) -> Dict[str, Any]:
    from routellm_plugins.embedding import get_embedder
    from routellm_plugins.registry import DEFAULT_ROUTER, bundled_checkpoint

    bundled = get_embedder()

    def embedder(texts: list) -> Any:
        embed_calls.append(len(texts))
        return bundled(texts)

    return {
        "router": DEFAULT_ROUTER,
        "checkpoint": str(bundled_checkpoint(DEFAULT_ROUTER)),
        "embedder": embedder,
        "strong_share": 0.4,
        "adaptive": True,
        "window": 50,
        "fallback": "weak",
        "timeout_s": 5,
        "sticky_sessions": "escalate",
        "max_sessions": 7,
        "session_ttl_s": 60,
        "failover": True,
        "route_on": "conversation",
    }


@pytest.mark.parametrize("how", ["constructor", "from_config"])
def test_every_shared_setting_is_accepted_and_reaches_the_controller(how: str) -> None:
    calls: list = []
    settings = _shared_settings(calls)
    if how == "constructor":
        strong, weak = echo_pair()
        llm = RouteLLM(strong=strong, weak=weak, **settings)
    else:
        llm = RouteLLM.from_config({**settings, "strong": {"class": MOCK}, "weak": {"class": MOCK}})
    ctl = llm.controller
    assert ctl.router.name == settings["router"] and ctl.fallback == "weak" and ctl.timeout_s == 5.0
    assert ctl.sticky_policy == "escalate" and ctl.max_sessions == 7 and ctl.sessions.ttl_s == 60
    assert ctl.adaptive is not None and ctl.adaptive.window == 50 and ctl.adaptive.strong_share == 0.4
    assert llm.failover is True and llm.route_on == "conversation"
    tag = RouteLLM.decision_of(llm.chat(user("Prove that the square root of 2 is irrational.")))
    assert tag["fallback"] is False and tag["routing_text_source"] == "conversation"
    assert calls, "the configured embedder scored the prompt"


def test_defaults_come_from_the_shared_settings() -> None:
    from routellm_plugins.registry import DEFAULT_ROUTER
    from routellm_plugins.settings import BY_NAME

    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak)
    assert llm.controller.router.name == DEFAULT_ROUTER
    assert llm.controller.sticky_policy == BY_NAME["sticky_sessions"].default
    assert llm.failover is BY_NAME["failover"].default and llm.route_on == BY_NAME["route_on"].default
    assert llm.controller.fallback == BY_NAME["fallback"].default and llm.controller.adaptive is None
    assert RouteLLM.from_config({"strong": {"class": MOCK}, "weak": {"class": MOCK}}).controller.router.name == DEFAULT_ROUTER


@pytest.mark.parametrize("value", [True, "first", "off"])
def test_sticky_sessions_is_handed_to_the_controller_unchanged(value: Any) -> None:
    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter(), sticky_sessions=value)
    assert llm.controller.sticky_policy == {True: "escalate"}.get(value, value)


def test_route_on_conversation_reads_the_whole_conversation() -> None:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    router = KeywordRouter()
    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=router, route_on="conversation")
    history = [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
        ChatMessage(role=MessageRole.USER, content="Prove it."),
        ChatMessage(role=MessageRole.ASSISTANT, content="Done."),
        ChatMessage(role=MessageRole.TOOL, content="tool output"),
        ChatMessage(role=MessageRole.USER, content="Thanks!"),
    ]
    assert RouteLLM.decision_of(llm.chat(history))["model"] == "strong"
    assert router.seen == ["Be brief.\n\nProve it.\n\nDone.\n\nThanks!"]
