"""litellm_adapter configuration: routes from model_lists and YAML, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import litellm
import pytest

from litellm_adapter import build_routes, check_proxy_config, decision_of, input_text, install_routing, router_from_config, routing_text
from litellm_adapter.__main__ import main as cli
from litellm_adapter.costs import CostTracker, track_costs, untrack_costs
from routellm_plugins import ConfigError, InvalidThresholdError, RouteLLMError, UnknownRouterError
from routellm_plugins.registry import DEFAULT_ROUTER

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "litellm_config.yaml"


def dep(name, model, role=None, **info):
    d = {"model_name": name, "litellm_params": {"model": model, "api_key": "k", "mock_response": f"from {model}"}}
    if role or info:
        d["model_info"] = {**({"routellm_model": role} if role else {}), **info}
    return d


PAIR = [dep("r", "openai/gpt-4o", "strong"), dep("r", "openai/gpt-4o-mini", "weak")]
GOOD = {"r": {"router": "random", "threshold": 0.5}}


# ---- routing text ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "first"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "last"}], "last"),
        ([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}, {"type": "text", "text": "b"}]}], "a\nb"),
        ([{"role": "system", "content": "sys"}], None),
        ([{"role": "user", "content": None}], None),
        ([{"role": "tool", "content": "result"}], None),
        (None, None),
        ([], None),
        ([42, "junk", {"role": "user"}], None),
    ],
)
def test_routing_text_is_the_last_user_turn(messages, expected):
    assert routing_text(messages) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tell me a joke", "Tell me a joke"),
        ("   ", None),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": [{"type": "input_text", "text": "c"}]}], "c"),
        ([{"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "x"}]}], None),
        ([{"type": "function_call_output", "call_id": "1", "output": "42"}, {"role": "user", "content": "why?"}], "why?"),
        ([{"type": "function_call_output", "role": "user", "output": "not a message"}], None),
        (None, None),
        (42, None),
        ({"role": "user", "content": "a dict is not a list of items"}, None),
    ],
)
def test_responses_input_text_is_the_string_or_the_last_user_item(value, expected):
    assert input_text(value) == expected


def test_route_on_conversation_joins_system_user_and_assistant_turns():
    convo = [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"}, {"role": "assistant", "content": "A"},
             {"role": "tool", "content": "T"}, {"role": "user", "content": [{"type": "text", "text": "U2"}]}]
    assert routing_text(convo, "conversation") == "S\n\nU1\n\nA\n\nU2"
    assert input_text(convo, "conversation") == "S\n\nU1\n\nA\n\nU2"


# ---- good configs ------------------------------------------------------------------------
def test_example_config_declares_group_pool_and_older_routes():
    routes = check_proxy_config(EXAMPLE)
    assert list(routes) == ["routellm", "routellm-pool", "routellm-fallback-demo", "router-mf-0.57"]  # the new form first
    r = routes["routellm"]
    assert r.controller.router.name == DEFAULT_ROUTER and r.controller.sticky_policy == "escalate"
    assert {k: t.group for k, t in r.targets.items()} == {"strong": "gpt-4o", "weak": "gpt-4o-mini"}  # existing model groups
    assert r.targets["weak"].input_cost_per_token == pytest.approx(1.5e-07)  # LiteLLM's price map
    pool = routes["routellm-pool"]
    assert pool.controller.policy.keys == ("gpt-4-turbo", "gpt-3.5-turbo", "mixtral") and pool.baseline == "gpt-4-turbo"
    assert pool.controller.policy.spec.profiles == ("gpt-4-1106-preview", "gpt-3.5-turbo-1106", "mixtral-8x7b-instruct")
    assert routes["routellm-fallback-demo"].controller.threshold == 1.0
    old = routes["router-mf-0.57"]
    assert old.controller.router.name == "mf" and old.controller.threshold == 0.57 and old.targets["weak"].group is None


def test_cli_check_prints_routes_and_fails_on_bad_config(tmp_path, capsys):
    assert cli(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "routellm-fallback-demo" in out and "weak -> model group gpt-4o-mini-down" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [\n")
    assert cli(["check", str(bad)]) == 1
    assert "bad.yaml" in capsys.readouterr().err


def test_router_from_example_config_routes_in_the_sdk():
    router = router_from_config(EXAMPLE)
    resp = router.completion(model="routellm-fallback-demo", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "answer from gpt-4o"  # the weak group failed; its own fallbacks served it
    assert decision_of(resp)["model"] == "weak" and decision_of(resp)["served"] == "openai/gpt-4o"
    pooled = router.completion(model="routellm-pool", messages=[{"role": "user", "content": "Say hello in French."}])
    assert pooled.choices[0].message.content == f"answer from {decision_of(pooled)['model']}"


def test_costs_override_price_map():
    routes = build_routes(PAIR, {"r": {**GOOD["r"], "costs": {"weak": {"input_cost_per_token": 0, "output_cost_per_token": 1e-6}}}})
    assert routes["r"].targets["weak"].output_cost_per_token == 1e-6


def test_two_trackers_both_receive_rows():
    a, b = track_costs(CostTracker()), track_costs(CostTracker())
    try:
        r = litellm.Router(model_list=list(PAIR))
        install_routing(r, GOOD, track_costs=False)
        cid = r.completion(model="r", messages=[{"role": "user", "content": "hi"}])._hidden_params["litellm_call_id"]
        import time

        end = time.monotonic() + 10
        while not all(cid in {row["call_id"] for row in t.rows} for t in (a, b)) and time.monotonic() < end:
            time.sleep(0.05)
        assert all(cid in {row["call_id"] for row in t.rows} for t in (a, b))
    finally:
        untrack_costs(a)
        untrack_costs(b)


# ---- bad configs: each error names the bad value -----------------------------------------
@pytest.mark.parametrize(
    ("routes", "error", "named"),
    [
        ({"r": {"router": "nope", "threshold": 0.5}}, UnknownRouterError, "nope"),
        ({"r": {"router": "random", "threshold": 1.5}}, InvalidThresholdError, "1.5"),
        ({"r": {"router": "random", "threshold": float("nan")}}, InvalidThresholdError, "nan"),
        ({"r": {"router": "random", "treshold": 0.5}}, ConfigError, "treshold"),
        ({"r": {"router": "random", "threshold": 0.5, "models": {"strong": "gpt-5", "weak": "openai/gpt-4o-mini"}}}, ConfigError, "gpt-5"),
        ({"r": {"router": "random", "threshold": 0.5, "models": {"medium": "openai/gpt-4o"}}}, ConfigError, "medium"),
        ({"r": {"router": "random", "threshold": 0.5, "models": ["openai/gpt-4o"]}}, ConfigError, "models"),
        ({"r": {"router": "random", "threshold": 0.5, "fallback": "best"}}, ConfigError, "best"),
        ({"r": {"router": "random", "threshold": 0.5, "failover": True}}, ConfigError, "router_settings.fallbacks"),
        ({"r": {"router": "random", "threshold": 0.5, "route_on": "everything"}}, ConfigError, "everything"),
        ({"r": {"router": "random", "threshold": 0.5, "sticky_sessions": "forever"}}, ConfigError, "forever"),
        ({"r": {"router": "random", "threshold": 0.5, "costs": {"weak": {"input_cost_per_token": -1, "output_cost_per_token": 0}}}}, ConfigError, "-1"),
        ({"elsewhere": {"router": "random", "threshold": 0.5}}, ConfigError, "elsewhere"),
    ],
)
def test_bad_route_settings_raise_naming_the_value(routes, error, named):
    with pytest.raises(error, match=None) as info:
        build_routes(PAIR, routes)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("model_list", "error", "named"),
    [
        ([dep("router-nope-0.5", "openai/gpt-4o"), dep("router-nope-0.5", "openai/gpt-4o-mini")], UnknownRouterError, "nope"),
        ([dep("router-random-2.0", "openai/gpt-4o"), dep("router-random-2.0", "openai/gpt-4o-mini")], InvalidThresholdError, "2.0"),
        ([dep("plain", "openai/gpt-4o", "strong"), dep("plain", "openai/gpt-4o-mini", "weak")], ConfigError, "plain"),
        ([dep("router-random-0.5", "openai/gpt-4o", "strong"), dep("router-random-0.5", "openai/gpt-4o-mini", "mediocre")], ConfigError, "mediocre"),
        ([dep("router-random-0.5", "openai/gpt-4o", "strong")], ConfigError, "weak"),
        ([dep("router-random-0.5", "acme/unpriced-a"), dep("router-random-0.5", "acme/unpriced-b")], ConfigError, "unpriced-a"),
        ([dep("router-random-0.5", "openai/gpt-4o", "strong"), dep("router-random-0.5", "openai/gpt-4o", "weak")], ConfigError, "openai/gpt-4o"),
        ([dep("x", "openai/gpt-4o", routellm="fast please")], ConfigError, "fast please"),
        ([{"model_name": "x"}], ConfigError, "litellm_params.model"),
    ],
)
def test_bad_model_lists_raise_naming_the_value(model_list, error, named):
    with pytest.raises(error) as info:
        build_routes(model_list)
    assert named in str(info.value)


def test_routes_without_a_router_use_the_default_router():
    routes = build_routes(PAIR, {"r": {"threshold": 0.5}})
    assert routes["r"].controller.router.name == DEFAULT_ROUTER


GROUPS_ML = [dep("gpt-4o", "openai/gpt-4o"), dep("gpt-4o-mini", "openai/gpt-4o-mini")]


def marker(name, **routing):
    return {"model_name": name, "litellm_params": {"model": "routellm/router"}, "model_info": {"routellm": routing}}


def test_marker_entry_routes_to_existing_model_groups():
    routes = build_routes([*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-4o-mini"})])
    assert {k: (t.group, t.litellm_model) for k, t in routes["smart"].targets.items()} == {
        "strong": ("gpt-4o", "openai/gpt-4o"), "weak": ("gpt-4o-mini", "openai/gpt-4o-mini")}


@pytest.mark.parametrize(
    ("model_list", "named"),
    [
        ([*GROUPS_ML, marker("smart", router="random", threshold=0.5)], "names no model groups"),
        ([*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-5"})], "'gpt-5' is not a deployment"),
        ([*GROUPS_ML, marker("a", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-4o-mini"}),
          marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "a"})], "'a' is itself a route"),
        ([*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-4o-mini"}),
          dep("smart", "openai/gpt-4o")], "mix a routellm/... marker"),
        ([*GROUPS_ML, marker("smart", router="random", threshold=0.5, pool=["gpt-4o", "gpt-4o-mini"])], "pool router"),
    ],
)
def test_bad_marker_routes_raise_naming_the_problem(model_list, named):
    with pytest.raises(ConfigError, match=None) as info:
        build_routes(model_list)
    assert named in str(info.value)


POOL_ML = [dep("gpt-4-turbo", "openai/gpt-4-1106-preview"), dep("gpt-3.5", "openai/gpt-3.5-turbo-1106"),
           dep("mixtral", "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"), dep("gpt-4o", "openai/gpt-4o"), dep("house", "acme/house-model")]


@pytest.mark.parametrize(
    ("routing", "named"),
    [
        ({"pool": ["gpt-4-turbo", "gpt-4o"], "lam": 0}, ["'gpt-4o'", "'openai/gpt-4o'", "aliases:", "routellm-plugins profile --model openai/gpt-4o"]),
        ({"pool": ["gpt-4-turbo", "mixtral"], "aliases": {"mixtral": "mixtral-9x9b"}, "lam": 0}, ["mixtral-9x9b", "has not profiled"]),
        ({"pool": ["gpt-4-turbo", "house"], "aliases": {"house": "claude-v2"}, "lam": 0}, ["'house'", "no price", "costs:"]),
        ({"pool": ["gpt-4-turbo", "gpt-5"], "lam": 0}, ["'gpt-5'", "not a model group"]),
        ({"pool": {"gpt-4-turbo": {"cost": 1}, "gpt-3.5": None}, "lam": 0}, ["profile name"]),
        ({"pool": "gpt-4-turbo", "lam": 0}, ["pool must list model groups"]),
    ],
)
def test_bad_pools_from_a_config_raise_saying_what_to_do(routing, named):
    with pytest.raises(ConfigError) as info:
        build_routes([*POOL_ML, marker("pool", **routing)])
    assert all(n in str(info.value) for n in named), str(info.value)


def test_pool_costs_can_be_given_for_unpriced_models():
    costs = {"house": {"input_cost_per_token": 2e-06, "output_cost_per_token": 4e-06}}
    route = build_routes([*POOL_ML, marker("pool", pool=["gpt-3.5", "house"], aliases={"house": "claude-v2"}, costs=costs, lam=0)])["pool"]
    assert list(route.controller.policy.spec.costs) == pytest.approx([3e-06, 6e-06]) and route.controller.policy.spec.profiles == ("gpt-3.5-turbo-1106", "claude-v2")
    assert route.baseline == "house"  # no strong key: the dearest pool model is the cost baseline


SECRET = "sk-canary-9f8e7d6c5b4a"


@pytest.mark.parametrize(
    "model_list",
    [
        [{"model_name": "x", "litellm_params": {"model": 7, "api_key": SECRET}}],
        [{"model_name": "x", "litellm_params": {"model": "openai/gpt-4o", "api_key": SECRET}, "model_info": [SECRET]}],
        [*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": {"api_key": SECRET}})],
        [*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-4o-mini"}, api_key=SECRET)],
        [*GROUPS_ML, marker("smart", router="random", threshold=0.5, models={"strong": "gpt-4o", "weak": "gpt-4o-mini"},
                            costs={"weak": {"input_cost_per_token": SECRET, "output_cost_per_token": 1}})],
        [[SECRET, {"api_key": SECRET}]],
    ],
    ids=["bad-model", "bad-model-info", "bad-models-value", "unknown-secret-key", "bad-cost", "entry-not-mapping"],
)
def test_config_errors_never_echo_a_secret(model_list):
    with pytest.raises(ConfigError) as info:
        build_routes(model_list)
    assert SECRET not in str(info.value)


def test_proxy_yaml_with_marker_routes_needs_the_provider_registered(tmp_path):
    base = EXAMPLE.read_text()
    no_provider = tmp_path / "no_provider.yaml"
    no_provider.write_text(base.replace("  custom_provider_map: [{provider: routellm, custom_handler: litellm_adapter.marker.handler}]\n", ""))
    with pytest.raises(ConfigError, match="custom_provider_map"):
        check_proxy_config(no_provider)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("model_list: [\n", "not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("model_list: []\n", "model_list"),
        ("model_list:\n  - {model_name: plain, litellm_params: {model: openai/gpt-4o}}\n", "no routed model"),
    ],
)
def test_malformed_proxy_yaml_raises_config_error(tmp_path, text, named):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named):
        check_proxy_config(path)


def test_proxy_yaml_needs_the_callback_and_known_fallbacks(tmp_path):
    base = EXAMPLE.read_text()
    no_cb = tmp_path / "no_cb.yaml"
    no_cb.write_text(base.replace('callbacks: ["litellm_adapter.proxy.callback"]', "callbacks: []"))
    with pytest.raises(ConfigError, match="litellm_adapter.proxy.callback"):
        check_proxy_config(no_cb)
    bad_fb = tmp_path / "bad_fb.yaml"
    bad_fb.write_text(base.replace('["gpt-4o"]}', '["gpt-5"]}'))
    with pytest.raises(ConfigError, match="gpt-5"):
        check_proxy_config(bad_fb)


def test_missing_files_and_wrong_arguments(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        router_from_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="litellm.Router"):
        install_routing("not a router", GOOD)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no routed model names"):
        install_routing(litellm.Router(model_list=[dep("plain", "openai/gpt-4o")]))
    with pytest.raises(ConfigError, match="num_retriez"):
        router_from_config({"model_list": list(PAIR), "router_settings": {"num_retriez": 1}})
    routes_file = tmp_path / "routes.yaml"
    routes_file.write_text("routes:\n  r: {router: random, threshold: 2}\n")
    with pytest.raises(RouteLLMError, match="2"):
        install_routing(litellm.Router(model_list=list(PAIR)), routes_file)


# ---- property: any message structure gives a decision, never an exception -------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from litellm_adapter.decisions import decide  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["role", "content", "type", "text", "x"]), inner, max_size=4),
    max_leaves=12,
)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "other"])},
    optional={"content": _json | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]), "text": _json}), max_size=3)},
)
_ROUTE = build_routes(PAIR, GOOD)["r"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_message | _json, max_size=5), _json))
def test_any_messages_get_a_decision(messages):
    text = routing_text(messages)
    assert text is None or (isinstance(text, str) and text.strip())
    d = decide(_ROUTE, messages)
    assert d.model in ("strong", "weak")
    if text is None:
        assert d.fallback and "no user text" in d.reason
    else:
        assert not d.fallback and 0.0 <= d.score <= 1.0


def test_route_settings_are_the_shared_vocabulary():
    spec = {"router": "random", "threshold": 0.4, "fallback": "weak", "timeout_s": 0.25, "sticky_sessions": "first",
            "max_sessions": 5, "route_on": "conversation"}
    route = build_routes(PAIR, {"r": spec})["r"]
    c = route.controller
    assert (c.threshold, c.fallback, c.timeout_s, c.sticky_policy, c.max_sessions, route.route_on) == (0.4, "weak", 0.25, "first", 5, "conversation")
    defaults = build_routes(PAIR, {"r": {"router": "random", "threshold": 0.4}})["r"]
    assert (defaults.controller.fallback, defaults.controller.timeout_s, defaults.controller.sticky_policy, defaults.route_on) == ("strong", None, "off", "last_user")


def test_provider_prefixes_and_spellings_resolve_to_profiled_names():
    """One naming rule with the pool core: a together_ai Mixtral deployment is the profiled Mixtral."""
    routes = build_routes([*POOL_ML, marker("pool", pool=["gpt-4-turbo", "mixtral"], lam=0)])
    route = next(iter(routes.values()))
    assert set(route.controller.policy.keys) == {"gpt-4-turbo", "mixtral"}
