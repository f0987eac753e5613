"""litellm_adapter configuration: routes from model_lists and YAML, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import litellm
import pytest

from litellm_adapter import build_routes, check_proxy_config, install_routing, router_from_config, routing_text
from litellm_adapter.__main__ import main as cli
from litellm_adapter.costs import CostTracker, track_costs, untrack_costs
from routellm_plugins import ConfigError, InvalidThresholdError, RouteLLMError, UnknownRouterError

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


# ---- good configs ------------------------------------------------------------------------
def test_example_config_declares_three_routes():
    routes = check_proxy_config(EXAMPLE)
    assert set(routes) == {"router-mf-0.57", "routellm", "routellm-fallback-demo"}
    assert routes["router-mf-0.57"].controller.router.name == "mf" and routes["router-mf-0.57"].controller.threshold == 0.57
    r = routes["routellm"]
    assert r.controller.router.name == "mf"
    assert r.targets["strong"].litellm_model == "openai/gpt-4o" and r.targets["weak"].litellm_model == "openai/gpt-4o-mini"
    assert r.targets["weak"].input_cost_per_token == pytest.approx(1.5e-07)  # LiteLLM's price map
    assert routes["routellm-fallback-demo"].controller.threshold == 1.0


def test_cli_check_prints_routes_and_fails_on_bad_config(tmp_path, capsys):
    assert cli(["check", str(EXAMPLE)]) == 0
    assert "routellm-fallback-demo" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [\n")
    assert cli(["check", str(bad)]) == 1
    assert "bad.yaml" in capsys.readouterr().err


def test_router_from_example_config_routes_in_the_sdk():
    router = router_from_config(EXAMPLE)
    resp = router.completion(model="routellm-fallback-demo", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "answer from gpt-4o"  # weak failed; fallbacks served it


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
        ({"r": {"threshold": 0.5}}, ConfigError, "names no router"),
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


def test_proxy_routes_must_be_deployments_of_the_group():
    ml = [dep("gpt-4o", "openai/gpt-4o"), *PAIR]
    spec = {"r": {"router": "random", "threshold": 0.5, "models": {"strong": "gpt-4o", "weak": "openai/gpt-4o-mini"}}}
    assert build_routes(ml, spec)["r"].targets["strong"].group == "gpt-4o"  # fine in the SDK
    with pytest.raises(ConfigError, match="'gpt-4o' is another model group"):
        build_routes(ml, spec, allow_groups=False)


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
