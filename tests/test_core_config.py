"""Configuration is read safely and every controller setting is validated (issue 15 items 2, 6, 7, 9; issue 14 vocabulary).

Real routers (mf, random) and real files; nothing here loads a model twice (module fixtures).
"""

from __future__ import annotations

import inspect
import json
import math
import time

import numpy as np
import pytest

from routellm_plugins import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    InvalidPromptError,
    RouteLLMError,
    RoutingController,
    ScoringError,
    load_router,
)
from routellm_plugins.config_io import MAX_CONFIG_BYTES, read_config
from routellm_plugins.data.files import read_prompts
from routellm_plugins.errors import describe_error, show_value, with_public_detail
from routellm_plugins.settings import CONTROLLER_SETTINGS, SETTINGS

#: A billion-laughs config: 9 levels of 9 aliases put 387 million leaves inside ``threshold``.
ALIAS_BOMB = "\n".join(
    ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    + ["threshold: [" + ", ".join(["*l8"] * 9) + "]", "router: random"]
)


@pytest.fixture(scope="module")
def mf():
    return load_router("mf")


# ---- item 6: one safe reader: size, aliases, depth -----------------------------------------------
def test_the_yaml_alias_bomb_fails_fast_with_a_clear_error(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB.encode()) < 700  # 387 million leaves once expanded
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than .* values through YAML aliases"):
        RoutingController.from_config(path)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("text", "message"), [
    ("a: &a [*a]\nrouter: random\n", "refers to itself"),
    ("threshold: " + "[" * 200 + "]" * 200 + "\n", "nests deeper than 64 levels"),
    ('{"threshold": ' + "[" * 50_000 + "]" * 50_000 + "}", "nests deeper than 64 levels"),
    ("x: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(1_001)), "more than 1,000 YAML aliases"),
])
def test_self_references_deep_nesting_and_alias_floods_are_config_errors(tmp_path, text, message):
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config(path)


def test_an_oversized_config_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("router: random\n# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="the limit is"):
        read_config(path)


def test_a_deeply_nested_jsonl_input_is_a_data_format_error(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "ok"}\n{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(DataFormatError, match="line 2 nests deeper than"):
        read_prompts(path)


def test_config_errors_show_a_truncated_value_never_a_full_repr():
    huge = "9" * 1_000_000
    with pytest.raises(RouteLLMError) as info:
        RoutingController("random", threshold=huge)
    assert len(str(info.value)) < 300
    nested = [[list(range(1000))] * 1000] * 1000  # a billion leaves if printed in full
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        RoutingController("random", threshold=0.5, window=nested)
    assert len(str(info.value)) < 300 and time.perf_counter() - started < 0.5


# ---- item 2: errors without their text; secret-like keys never echoed -----------------------------------
class RateLimited(Exception):
    status_code = 429


class Response:
    status_code = 502


class Wrapped(Exception):
    response = Response()


def test_describe_error_gives_type_and_status_never_the_text():
    secret = "sk-live-abcdef123456 and the prompt"
    assert describe_error(RateLimited(secret)) == "RateLimited (status 429)"
    assert describe_error(Wrapped(secret)) == "Wrapped (status 502)"
    try:
        try:
            raise RateLimited(secret)
        except RateLimited as exc:
            raise ScoringError(secret) from exc
    except ScoringError as outer:
        assert describe_error(outer) == "ScoringError from RateLimited (status 429)"
    assert describe_error(with_public_detail(ScoringError(secret), "rating mass below min_rating_mass")) == \
        "ScoringError: rating mass below min_rating_mass"
    assert all(secret not in describe_error(e) for e in (RateLimited(secret), ValueError(secret), KeyError(secret)))


@pytest.mark.parametrize("key", ["api_key", "OPENAI_API_KEY", "token", "client_secret", "password", "Authorization", "x-api-key"])
def test_values_of_secret_like_keys_are_redacted(key):
    shown = show_value("sk-live-9f8e7d6c5b4a3210", key=key)
    assert "sk-live" not in shown and "redacted" in shown
    assert show_value("gpt-4o", key="model") == "'gpt-4o'"


def test_an_unknown_config_key_is_named_but_its_value_never_shown():
    with pytest.raises(ConfigError) as info:
        RoutingController.from_config({"router": "random", "threshold": 0.5, "api_key": "sk-live-9f8e7d6c5b4a3210"})
    assert "api_key" in str(info.value) and "sk-live" not in str(info.value)


# ---- issue 14: one vocabulary; every controller setting is accepted and validated -----------------------
def test_the_controller_accepts_every_controller_setting_of_the_vocabulary():
    params = set(inspect.signature(RoutingController.__init__).parameters) - {"self"}
    assert set(CONTROLLER_SETTINGS) == params
    defaults = {s.name: s.default for s in SETTINGS if s.scope == "controller"}
    sig = inspect.signature(RoutingController.__init__).parameters
    assert all(sig[name].default == default for name, default in defaults.items() if name != "router")
    cfg = {"router": "random", "threshold": 0.5, "adaptive": False, "window": 10, "fallback": "weak", "timeout_s": 1.5,
           "sticky_sessions": "first", "max_sessions": 50, "session_ttl_s": 60, "shared_state": None}
    ctl = RoutingController.from_config(cfg)
    assert (ctl.fallback, ctl.timeout_s, ctl.sticky_policy, ctl.max_sessions, ctl.sessions.ttl_s) == ("weak", 1.5, "first", 50, 60.0)


@pytest.mark.parametrize(("bad", "named"), [
    ({"window": "10"}, "'10'"), ({"window": 0}, "0"), ({"window": True}, "True"), ({"window": 10**7}, "10000000"),
    ({"fallback": "banana"}, "'banana'"), ({"fallback": ""}, "''"), ({"fallback": 3}, "3"),
    ({"checkpoint": 123}, "123"),
    ({"timeout_s": 0}, "0"), ({"timeout_s": -1}, "-1"), ({"timeout_s": math.nan}, "nan"), ({"timeout_s": "0.5"}, "'0.5'"),
    ({"session_ttl_s": -5}, "-5"),
    ({"shared_state": "http://127.0.0.1:6379/0"}, "'http://127.0.0.1:6379/0'"), ({"shared_state": 6379}, "6379"),
    ({"embedder": 123}, "int"), ({"embedder": ["a"]}, "list"),
    ({"adaptive": "false"}, "'false'"),
], ids=lambda v: json.dumps(v, default=str)[:40])
def test_bad_controller_settings_are_config_errors_naming_the_value(bad, named):
    cfg = {"router": "random", "threshold": 0.5, **bad}
    with pytest.raises(ConfigError) as info:
        RoutingController.from_config(cfg)
    assert named in str(info.value)


def test_adaptive_window_given_as_an_integer_works():
    ctl = RoutingController("random", strong_share=0.3, adaptive=True, window=10)
    assert ctl.adaptive.window == 10


# ---- item 9: clear errors where raw exceptions were ----------------------------------------------------
def test_calibrate_on_no_prompts_is_a_clear_error(mf):
    with pytest.raises(InvalidPromptError, match="at least one prompt"):
        mf.calibrate([], 0.3)
    assert mf.threshold is not None  # the router keeps its threshold


def test_checkpoint_of_the_wrong_type_from_a_yaml_config(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text("router: mf\ncheckpoint: 123\n")
    with pytest.raises(ConfigError, match="checkpoint must be a folder path"):
        RoutingController.from_config(path)
    with pytest.raises(CheckpointError, match="got int"):
        load_router("mf", checkpoint=123)


INVISIBLE = ["\u200b\u200b", "\x00\x00", "\ufeff", "\u2060\u200d\u200c", "\u00ad", " \u3164 ", "\u202e\x1b\x07\x7f", "\u200b" * 20_000]


@pytest.mark.parametrize("text", INVISIBLE, ids=lambda t: ascii(t)[:20])
def test_prompts_of_only_invisible_characters_go_to_the_flagged_fallback(mf, text):
    with pytest.raises(InvalidPromptError, match="empty"):
        mf.score([text])
    d = RoutingController(mf, threshold=0.5).decide(text)
    assert d.fallback and d.model == "strong" and d.score is None
    assert d.reason == "invalid routing text: empty or only invisible characters"


def test_visible_text_among_invisible_characters_is_scored(mf):
    d = RoutingController(mf, threshold=0.5).decide("\u200b\x00What is 2 + 2?\u200b")
    assert not d.fallback and 0.0 <= d.score <= 1.0


# ---- item 7: fallbacks are labelled with their real cause ----------------------------------------------
def test_fallbacks_name_their_real_cause(mf):
    def down(texts):
        raise ConnectionError("embedding service at 10.0.0.7 refused the request for 'secret prompt'")

    def wrong_width(texts):
        return np.ones((len(texts), 17), dtype=np.float32)

    cases = {
        "invalid routing text: got list, not str": RoutingController(mf, threshold=0.5).decide(["a", "b"]),
        "scoring failed: ScoringError from ConnectionError": RoutingController("mf", threshold=0.5, embedder=down).decide("hello"),
    }
    for reason, d in cases.items():
        assert d.fallback and d.reason.startswith(reason)
    odd = RoutingController("mf", threshold=0.5, embedder=wrong_width).decide("hello")
    assert odd.fallback and odd.reason.startswith("scoring failed: ") and "invalid routing text" not in odd.reason
    assert "10.0.0.7" not in odd.reason + cases["scoring failed: ScoringError from ConnectionError"].reason


def test_the_readme_settings_table_is_the_vocabulary():
    from pathlib import Path

    from routellm_plugins.settings import settings_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
