"""Bad input at every public entry point: CLI files, 1 MB prompts, messages without user text,
NaN / negative / mistyped settings, and bad route settings met by the proxy callback at request time.

Existing suites cover the rest (test_core_input, test_cli, test_*_config): this file fills the gaps.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import litellm
import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from litellm_adapter import build_routes, check_proxy_config, decision_of, install_routing
from litellm_adapter.__main__ import main as litellm_cli
from litellm_adapter.decisions import record_in_request
from litellm_adapter.proxy import RouteLLMProxyCallback
from llamaindex_adapter import DECISION_KEY, RouteLLM
from routellm_plugins import ConfigError, RouteLLMError, RoutingController
from routellm_plugins.cli import main as cli
from test_llamaindex_fakes import EchoLLM

NAN = float("nan")
BIG = "Prove that the sum of two even numbers is even. " + "lorem ipsum dolor sit amet " * 40_000 + " What is the answer?"
IMAGE = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture(scope="module")
def mf() -> RoutingController:
    return RoutingController("mf", strong_share=0.5)


# ---- CLI: malformed, missing and non-UTF-8 files give one clear line and exit status 2 --------------
LATIN1_CSV = "prompt,a,b\nh\u00e9llo,1,0\n".encode("latin-1")


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({"p.jsonl": b'{"prompt": "a"}\n{"prompt": \n'}, ["score", "--router", "random", "--input", "{p.jsonl}"], "line 2 is not valid JSON"),
        ({"p.jsonl": '{"prompt": "caf\u00e9"}\n'.encode("latin-1")}, ["score", "--router", "random", "--input", "{p.jsonl}"], "not UTF-8"),
        ({"p.csv": LATIN1_CSV}, ["calibrate", "--router", "random", "--strong-share", "0.3", "--input", "{p.csv}"], "not UTF-8"),
        ({"b.csv": LATIN1_CSV}, ["evaluate", "--benchmark", "{b.csv}", "--routers", "random", "--plot", ""], "'{b.csv}' is not UTF-8"),
        ({"a.csv": "id,score\n1,\u00e9\n".encode("latin-1")}, ["profile", "--answers", "{a.csv}", "--model", "m", "--cost", "1", "--out", "{out}"], "'{a.csv}' is not UTF-8"),
        ({}, ["score", "--router", "random", "--input", "{missing.jsonl}"], "does not exist"),
        ({"ck/router.json": b"{not json"}, ["route", "hi", "--router", "mf", "--checkpoint", "{ck}"], "not valid JSON"),
        ({"p.jsonl": b'{"prompt": "hello"}\n'}, ["score", "--router", "random", "--input", "{p.jsonl}", "--output", "{nowhere/o.jsonl}"], "No such file or directory"),
        ({}, ["route", "hi", "--router", "random", "--threshold", "nan"], "got nan"),
        ({}, ["calibrate", "--router", "random", "--strong-share", "-0.5"], "got -0.5"),
    ],
    ids=["malformed-jsonl", "latin1-jsonl", "latin1-csv", "latin1-benchmark", "latin1-answers", "missing-input",
         "malformed-checkpoint", "unwritable-output", "nan-threshold", "negative-share"],
)
def test_cli_bad_files_and_values_are_one_clear_line_with_status_2(tmp_path, capsys, files, argv, message):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)

    def fill(arg: str) -> str:
        return str(tmp_path / arg[1:-1]) if arg.startswith("{") and arg.endswith("}") else arg

    assert cli([fill(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    expected = message.replace("{b.csv}", str(tmp_path / "b.csv")).replace("{a.csv}", str(tmp_path / "a.csv"))
    assert expected in err


def test_console_script_prints_no_traceback_for_a_non_utf8_file(tmp_path):
    bad = tmp_path / "bench.csv"
    bad.write_bytes(LATIN1_CSV)
    exe = Path(sys.executable).with_name("routellm-plugins")
    r = subprocess.run([str(exe), "evaluate", "--benchmark", str(bad), "--routers", "random", "--plot", ""],
                       capture_output=True, text=True, timeout=120, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert r.returncode == 2 and "Traceback" not in r.stderr and "is not UTF-8" in r.stderr


@pytest.mark.parametrize("content", [b"model_list: [\xff]\n", b"model_list:\n  - {model_name: r, litellm_params: {model: a\n"],
                         ids=["latin1", "unclosed"])
def test_litellm_check_cli_reports_unreadable_configs(tmp_path, capsys, content):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    assert litellm_cli(["check", str(path)]) == 1  # documented: 1 on a reported error
    err = capsys.readouterr().err
    assert "not valid YAML/JSON" in err and str(path) in err and "Traceback" not in err


# ---- each adapter: a 1 MB prompt is answered and routed; no user text goes to the flagged fallback ---
def _langchain(ctl: RoutingController) -> Callable[[Any], dict]:
    llm = ChatRouteLLM(strong=ScriptedChatModel(model="big", replies=["S"]), weak=ScriptedChatModel(model="small", replies=["W"]), controller=ctl)

    def ask(messages: Any) -> dict:
        out = llm.invoke(messages)
        assert out.content in ("S", "W")
        meta = out.response_metadata["routellm"]
        assert out.content == {"strong": "S", "weak": "W"}[meta["served_by"]]
        return meta

    return ask


def _llamaindex(ctl: RoutingController) -> Callable[[Any], dict]:
    llm = RouteLLM(strong=EchoLLM(name="strong"), weak=EchoLLM(name="weak"), controller=ctl)

    def ask(messages: Any) -> dict:
        resp = llm.chat(messages)
        tag = resp.additional_kwargs[DECISION_KEY]
        assert resp.message.content.startswith(f"[{tag['model']}]")
        return tag

    return ask


def _pair() -> list[dict[str, Any]]:
    return [
        {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o", "api_key": "k", "mock_response": "S"}, "model_info": {"routellm_model": "strong"}},
        {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k", "mock_response": "W"}, "model_info": {"routellm_model": "weak"}},
    ]


def _litellm_sdk(ctl: RoutingController) -> Callable[[Any], dict]:
    router = litellm.Router(model_list=_pair())
    install_routing(router, {"r": {"controller": ctl}}, track_costs=False)

    def ask(messages: Any) -> dict:
        resp = router.completion(model="r", messages=messages)
        rec = decision_of(resp)
        assert resp.choices[0].message.content == {"strong": "S", "weak": "W"}[rec["model"]]
        return rec

    return ask


def _litellm_proxy_callback(ctl: RoutingController) -> Callable[[Any], dict]:
    ml = _pair()
    ml[0]["model_info"]["routellm"] = {"router": "mf", "strong_share": 0.5}
    router = litellm.Router(model_list=ml)

    def ask(messages: Any) -> dict:
        callback = RouteLLMProxyCallback(router=router)
        litellm.callbacks.append(callback)
        md: dict[str, Any] = {}
        try:
            resp = asyncio.run(router.acompletion(model="r", messages=messages, metadata=md))
        finally:
            litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
        rec = record_in_request({"metadata": md})
        assert resp.choices[0].message.content == {"strong": "S", "weak": "W"}[rec["model"]]
        return rec

    return ask


def _lc_msgs(kind: str) -> list[Any]:
    return {
        "big": [HumanMessage(content=BIG)],
        "system-only": [SystemMessage(content="You are terse.")],
        "tool-only": [ToolMessage(content="42", tool_call_id="call-1")],
        "image-only": [HumanMessage(content=[{"type": "image_url", "image_url": {"url": IMAGE}}])],
    }[kind]


def _li_msgs(kind: str) -> list[Any]:
    return {
        "big": [ChatMessage(role=MessageRole.USER, content=BIG)],
        "system-only": [ChatMessage(role=MessageRole.SYSTEM, content="You are terse.")],
        "tool-only": [ChatMessage(role=MessageRole.TOOL, content="42", additional_kwargs={"tool_call_id": "call-1"})],
        "image-only": [ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(url=IMAGE)])],
    }[kind]


def _oa_msgs(kind: str) -> list[Any]:
    return {
        "big": [{"role": "user", "content": BIG}],
        "system-only": [{"role": "system", "content": "You are terse."}],
        "tool-only": [{"role": "tool", "content": "42", "tool_call_id": "call-1"}],
        "image-only": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]}],
    }[kind]


ADAPTERS = {
    "langchain": (_langchain, _lc_msgs),
    "llamaindex": (_llamaindex, _li_msgs),
    "litellm-sdk": (_litellm_sdk, _oa_msgs),
    "litellm-proxy-callback": (_litellm_proxy_callback, _oa_msgs),
}


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_a_1mb_prompt_is_answered_and_routed(mf, adapter):
    build, msgs = ADAPTERS[adapter]
    meta = build(mf)(msgs("big"))
    assert meta["fallback"] is False and 0.0 <= meta["score"] <= 1.0 and meta["model"] in ("strong", "weak")


@pytest.mark.parametrize("kind", ["system-only", "tool-only", "image-only"])
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_messages_without_user_text_go_to_the_flagged_fallback(mf, adapter, kind):
    build, msgs = ADAPTERS[adapter]
    meta = build(mf)(msgs(kind))
    assert meta["fallback"] is True and meta["model"] == "strong" and meta["score"] is None and meta["reason"]


# ---- NaN / negative / mistyped settings: refused at construction, naming the value -------------------
BAD_SETTINGS = [
    ({"threshold": NAN}, "nan"),
    ({"threshold": -0.1}, "-0.1"),
    ({"strong_share": NAN}, "nan"),
    ({"strong_share": -0.5}, "-0.5"),
    ({"threshold": math.inf}, "inf"),
]


@pytest.mark.parametrize(("bad", "named"), [*BAD_SETTINGS, ({"timeout": -1.0}, "-1"), ({"timeout": NAN}, "nan"),
                                             ({"strong_share": 0.5, "adaptive": "false"}, "'false'"),
                                             ({"sticky_sessions": "no"}, "'no'")])
def test_langchain_config_refuses_bad_numbers_and_flags(bad, named):
    cfg = {"strong": ScriptedChatModel(), "weak": ScriptedChatModel(), "router": "random", **bad}
    if "threshold" not in bad and "strong_share" not in bad:
        cfg["threshold"] = 0.5
    with pytest.raises(RouteLLMError) as info:
        ChatRouteLLM.from_config(cfg)
    assert named in str(info.value)


@pytest.mark.parametrize(("bad", "named"), [*BAD_SETTINGS, ({"timeout_s": -1.0}, "-1"), ({"timeout_s": NAN}, "nan"),
                                             ({"sticky_sessions": "no"}, "'no'")])
def test_llamaindex_config_refuses_bad_numbers_and_flags(bad, named):
    cfg = {"router": "random", "models": {"strong": {"class": "llama_index.core.llms.MockLLM"}, "weak": {"class": "llama_index.core.llms.MockLLM"}}, **bad}
    if "threshold" not in bad and "strong_share" not in bad:
        cfg["threshold"] = 0.5
    with pytest.raises(ConfigError) as info:
        RouteLLM.from_config(cfg)
    assert named in str(info.value)


@pytest.mark.parametrize(("bad", "named"), [*BAD_SETTINGS, ({"timeout_s": -1.0}, "-1"), ({"timeout_s": NAN}, "nan"),
                                             ({"strong_share": 0.5, "adaptive": "false"}, "'false'"),
                                             ({"sticky_sessions": "no"}, "'no'"), ({"max_sessions": -1}, "-1")])
def test_core_and_litellm_routes_refuse_bad_numbers_and_flags(bad, named):
    cfg = {"router": "random", **bad}
    if "threshold" not in bad and "strong_share" not in bad:
        cfg["threshold"] = 0.5
    with pytest.raises(RouteLLMError) as info:
        RoutingController(**cfg)
    assert named in str(info.value)
    if "max_sessions" not in bad:  # not a config-file / route setting
        with pytest.raises(RouteLLMError) as info:
            build_routes(_pair(), {"r": cfg})
        assert named in str(info.value)


@pytest.mark.parametrize(("setting", "named"), [("threshold: .nan", "nan"), ("threshold: -0.2", "-0.2"), ("strong_share: .inf", "inf"),
                                                ("router: nosuch, threshold: 0.5", "nosuch"), ("router: mf, threshold: 0.5, sticky_sessions: 'yes'", "'yes'")])
def test_proxy_config_with_bad_route_values_is_refused_by_check(tmp_path, setting, named):
    if not setting.startswith("router:"):
        setting = f"router: random, {setting}"
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n"
        "  - {model_name: r, litellm_params: {model: openai/gpt-4o, mock_response: S}, model_info: {routellm_model: strong, routellm: {" + setting + "}}}\n"
        "  - {model_name: r, litellm_params: {model: openai/gpt-4o-mini, mock_response: W}, model_info: {routellm_model: weak}}\n"
        "litellm_settings: {callbacks: [litellm_adapter.proxy.callback]}\n"
    )
    with pytest.raises(RouteLLMError) as info:
        check_proxy_config(path)
    assert named in str(info.value)


def test_proxy_callback_with_bad_route_values_fails_those_requests_naming_the_value_and_serves_others():
    ml = _pair() + [{"model_name": "plain", "litellm_params": {"model": "openai/gpt-4o", "api_key": "k", "mock_response": "P"}}]
    ml[0]["model_info"]["routellm"] = {"router": "random", "threshold": -0.3}
    router = litellm.Router(model_list=ml, num_retries=0)
    callback = RouteLLMProxyCallback(router=router)
    litellm.callbacks.append(callback)
    try:
        for _ in range(2):  # the bad route is reported on every request, not only the first
            with pytest.raises(Exception) as info:
                asyncio.run(router.acompletion(model="r", messages=[{"role": "user", "content": "hi"}]))
            assert "-0.3" in str(info.value)
        plain = asyncio.run(router.acompletion(model="plain", messages=[{"role": "user", "content": "hi"}]))
        assert plain.choices[0].message.content == "P"
    finally:
        litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
