"""ChatRouteLLM.from_config: init_chat_model specs, YAML files, and configuration errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import ConfigError, InvalidThresholdError, UnknownRouterError


class FakeInit:
    """Stands in for init_chat_model: records each call, returns an offline model named after it."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> ScriptedChatModel:
        self.calls.append((args, kwargs))
        name = args[0] if args else f"{kwargs.get('model_provider')}:{kwargs['model']}"
        return ScriptedChatModel(model=name, replies=[f"reply from {name}"])


def test_from_config_builds_children_from_init_chat_model_specs() -> None:
    init = FakeInit()
    model = ChatRouteLLM.from_config(
        {
            "strong": "openai:gpt-4o",
            "weak": {"model": "gpt-4o-mini", "model_provider": "openai", "temperature": 0},
            "router": {"router": "random", "seed": 0},
            "threshold": 1.0,
            "failover": True,
        },
        init_model=init,
    )
    assert init.calls == [(("openai:gpt-4o",), {}), ((), {"model": "gpt-4o-mini", "model_provider": "openai", "temperature": 0})]
    assert model.invoke("hello").content == "reply from openai:gpt-4o-mini"  # threshold 1.0: always weak
    assert model.failover is True and model.routing_controller.threshold == 1.0


def test_from_config_reads_yaml_with_a_routing_section(tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(
        "models:\n"
        "  strong: anthropic:claude-sonnet-4-5\n"
        "  weak: openai:gpt-4o-mini\n"
        "routing:\n"
        "  router: {router: random, seed: 0}\n"
        "  strong_share: 1.0\n"
        "  sticky_sessions: true\n"
        "  timeout_s: 0.5\n"
        "route_on: conversation\n"
        "session_keys: [chat_id]\n",
        encoding="utf-8",
    )
    model = ChatRouteLLM.from_config(path, init_model=FakeInit())
    assert model.invoke("hello").content == "reply from anthropic:claude-sonnet-4-5"
    controller = model.routing_controller
    assert controller.sticky_sessions and controller.timeout_s == 0.5 and controller.threshold == 0.0
    assert model.route_on == "conversation" and model.session_keys == ("chat_id",)


def test_from_config_accepts_ready_models_and_overrides() -> None:
    model = ChatRouteLLM.from_config(
        {"strong": ScriptedChatModel(replies=["S"]), "weak": ScriptedChatModel(replies=["W"]), "router": "random"},
        threshold=0.0,
    )
    assert model.invoke("x").content == "S"


def test_from_config_with_the_real_init_chat_model_names_a_bad_spec() -> None:
    with pytest.raises(ConfigError, match=r"cannot build child 'strong' from 'nosuchprovider:model-x'"):
        ChatRouteLLM.from_config({"strong": "nosuchprovider:model-x", "weak": "also:bad", "router": "random"})


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        ({"strong": "openai:a"}, ConfigError, r"missing child model spec\(s\) \['weak'\]"),
        ({"strong": "openai:a", "weak": 42}, ConfigError, "child 'weak' must be an init_chat_model spec.*42"),
        ({"strong": "openai:a", "weak": {"temperature": 0}}, ConfigError, "needs a 'model' string"),
        ({"strong": "openai:a", "weak": "openai:b", "threshhold": 0.2}, ConfigError, "threshhold"),
        ({"strong": "openai:a", "weak": "openai:b", "timeout": 1, "timeout_s": 2}, ConfigError, "not both"),
        ({"models": {}}, ConfigError, "non-empty mapping"),
        ({"strong": "openai:a", "weak": "openai:b", "router": "nope"}, UnknownRouterError, "nope"),
        ({"strong": "openai:a", "weak": "openai:b", "router": "random", "threshold": 2}, InvalidThresholdError, "2"),
        ({"strong": "openai:a", "weak": "openai:b", "routing": {"router": "random"}, "router": "random"}, ConfigError, "both"),
    ],
)
def test_bad_config_files_raise_clear_errors(config: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ChatRouteLLM.from_config(config, init_model=FakeInit())


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="absent.yaml"):
        ChatRouteLLM.from_config(missing, init_model=FakeInit())
