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
    assert llm.controller.threshold == 0.0 and llm.controller.sticky_sessions is True
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
    llm = RouteLLM.from_config(_config(), routing_text_fn=fn)
    assert llm.routing_text_fn is fn


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
        ({"router": KeywordRouter(), "controller": {"router": "random"}}, "not both"),
        ({"controller": {"router": "random", "threshold": 0.5}, "threshold": 0.1}, "threshold"),
        ({"controller": 42}, "int"),
        ({"routing_text_fn": "last message"}, "last message"),
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
