"""One settings model: ChatRouteLLM (and RouterRunnable) take every setting of the shared vocabulary
(``routellm_plugins.settings``) with its name, meaning and default, in the constructor and in
``from_config``; old names still work with a DeprecationWarning; no router named means the
registry's default router."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from langchain_adapter import ChatRouteLLM, RouterRunnable
from langchain_adapter.config import DEPRECATED, MODEL_KEYS, known_config_keys
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import ConfigError, RoutingController, load_router
from routellm_plugins.embedding import get_embedder
from routellm_plugins.registry import DEFAULT_ROUTER, bundled_checkpoint
from routellm_plugins.settings import ADAPTER_SETTINGS, BY_NAME, CONTROLLER_SETTINGS, STICKY_POLICIES
from test_langchain_fakes import EASY, HARD, KeywordRouter, routed


def children() -> dict[str, Any]:
    return {"strong": ScriptedChatModel(model="big", replies=["S"]), "weak": ScriptedChatModel(model="small", replies=["W"])}


@pytest.fixture(scope="module")
def default_router() -> Any:
    """The registry's default router with its bundled checkpoint, loaded once for this module."""
    return load_router()


def test_every_shared_setting_is_a_constructor_field_with_the_shared_default() -> None:
    fields = ChatRouteLLM.model_fields
    for name in (*CONTROLLER_SETTINGS, *ADAPTER_SETTINGS):
        assert name in fields, name
        assert fields[name].default == BY_NAME[name].default, name
    for key in known_config_keys():  # from_config takes nothing the constructor refuses
        assert key in fields or key in MODEL_KEYS or key in DEPRECATED, key


def test_no_router_named_means_the_registry_default(default_router: Any) -> None:
    model = ChatRouteLLM(**children())
    assert model.routing_controller.router.name == DEFAULT_ROUTER == default_router.name
    from_file = ChatRouteLLM.from_config({"strong": ScriptedChatModel(), "weak": ScriptedChatModel()})
    assert from_file.routing_controller.router.name == DEFAULT_ROUTER
    assert model.invoke(HARD).response_metadata["routellm"]["router"] == DEFAULT_ROUTER


def test_the_constructor_takes_what_from_config_takes_and_both_reach_the_controller() -> None:
    real = get_embedder()
    seen: list[int] = []

    def embedder(texts: Any) -> np.ndarray:
        seen.append(len(texts))
        return real(texts)

    settings = {
        "checkpoint": str(bundled_checkpoint(DEFAULT_ROUTER)), "embedder": embedder, "strong_share": 0.3, "adaptive": True,
        "window": 50, "fallback": "weak", "timeout_s": 5.0, "sticky_sessions": "first", "max_sessions": 7,
        "failover": True, "route_on": "conversation",
    }
    built = ChatRouteLLM(**children(), **settings)
    loaded = ChatRouteLLM.from_config({**children(), "routing": settings})
    for model in (built, loaded):
        ctl = model.routing_controller
        assert ctl.router.name == DEFAULT_ROUTER and ctl.adaptive is not None and ctl.adaptive.window == 50
        assert ctl.adaptive.strong_share == 0.3 and ctl.fallback == "weak" and ctl.timeout_s == 5.0
        assert ctl.sticky_policy == "first" and ctl.max_sessions == 7
        assert model.failover is True and model.route_on == "conversation"
    built.invoke(HARD)
    assert seen, "the embedder setting must reach the router"


@pytest.mark.parametrize(("old", "new", "value"), [("timeout", "timeout_s", 2.5), ("fallback_on_error", "failover", True)])
def test_deprecated_names_still_work_with_a_warning(old: str, new: str, value: Any) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old}.*deprecated.*{new}"):
        model = routed(**{old: value})
    assert getattr(model, new) == value
    if new == "timeout_s":
        assert model.routing_controller.timeout_s == value
    with pytest.warns(DeprecationWarning, match=old):
        runnable = RouterRunnable(strong=lambda x: "s", weak=lambda x: "w", router=KeywordRouter(), **{old: value})
    assert runnable.invoke(HARD) == "s"
    with pytest.raises(ConfigError, match=f"give {new} or its deprecated name {old}, not both"):
        routed(**{old: value, new: value})
    with pytest.warns(DeprecationWarning):
        from_file = ChatRouteLLM.from_config({"strong": ScriptedChatModel(), "weak": ScriptedChatModel(), "router": "random",
                                              "threshold": 0.5, old: value})
    assert getattr(from_file, new) == value


def test_new_names_raise_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        routed(timeout_s=1.0, failover=True, route_on="last_user", sticky_sessions="escalate")


@pytest.mark.parametrize("policy", [*STICKY_POLICIES, True, False])
def test_sticky_sessions_reach_the_controller_unchanged(policy: Any) -> None:
    expected = {True: "escalate", False: "off"}.get(policy, policy)
    assert routed(sticky_sessions=policy).routing_controller.sticky_policy == expected


def test_a_bad_sticky_policy_is_named() -> None:
    with pytest.raises(ConfigError, match="sometimes"):
        routed(sticky_sessions="sometimes")


@pytest.mark.parametrize(("route_on", "expected"), [("last_user", "last_user"), ("last_human", "last_user"), ("conversation", "conversation")])
def test_route_on_values_and_the_old_name(route_on: str, expected: str) -> None:
    model = routed(route_on=route_on)
    assert model.route_on == expected
    dialogue = [("human", HARD), ("ai", "Euclid..."), ("human", "thanks!")]
    assert model.invoke(dialogue).content == ("weak answer" if expected == "last_user" else "strong answer")


def test_route_on_callable_and_router_runnable_share_the_vocabulary() -> None:
    assert routed(route_on=lambda msgs: msgs[0].content).invoke([("human", HARD), ("human", EASY)]).content == "strong answer"
    runnable = RouterRunnable(strong=lambda x: "s", weak=lambda x: "w", router=KeywordRouter(), route_on="last_user",
                              sticky_sessions="first", failover=True)
    assert runnable.controller.sticky_policy == "first" and runnable.invoke(EASY) == "w"
    with pytest.raises(ConfigError, match="unknown RouterRunnable settings"):
        RouterRunnable(strong=lambda x: "s", weak=lambda x: "w", router=KeywordRouter(), fallback_on_eror=True)


def test_a_ready_controller_refuses_other_routing_settings_but_not_defaults() -> None:
    ctl = RoutingController(KeywordRouter())
    shared = ChatRouteLLM(**children(), controller=ctl, window=BY_NAME["window"].default, sticky_sessions="off")
    assert shared.routing_controller is ctl
    with pytest.raises(ConfigError, match=r"drop \['threshold', 'window'\]"):
        ChatRouteLLM(**children(), controller=ctl, window=10, threshold=0.3)


def test_explicit_settings_win_over_a_router_dict() -> None:
    model = routed(router={"router": "random", "seed": 0, "strong_share": 1.0, "sticky_sessions": "first"}, threshold=1.0)
    ctl = model.routing_controller
    assert ctl.threshold == 1.0 and ctl.sticky_policy == "first"
    assert {model.invoke(f"q{i}").content for i in range(4)} == {"weak answer"}


def test_a_relative_checkpoint_in_a_config_file_is_read_beside_it(tmp_path: Any) -> None:
    import shutil

    shutil.copytree(bundled_checkpoint(DEFAULT_ROUTER), tmp_path / "ckpt")
    path = tmp_path / "routing.yaml"
    path.write_text("strong: s\nweak: w\ncheckpoint: ckpt\nstrong_share: 0.5\n", encoding="utf-8")
    model = ChatRouteLLM.from_config(path, init_model=lambda spec: ScriptedChatModel(model=spec))
    assert model.routing_controller.router.name == DEFAULT_ROUTER
    assert model.children["strong"].model == "s"
