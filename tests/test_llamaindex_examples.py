"""The LlamaIndex examples run offline with the bundled default router, use both models, and say
which model served each question."""

from __future__ import annotations

import asyncio
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _main(name: str) -> Any:
    return runpy.run_path(str(EXAMPLES / name), run_name="example")["main"]


def test_query_engine_example_uses_both_models_and_routes_follow_ups_on_themselves(capsys: pytest.CaptureFixture[str]) -> None:
    _main("llamaindex_query_engine.py")()
    out = capsys.readouterr().out
    served = re.findall(r"^ *(strong|weak) \(score 0\.\d+, routed on template:query_str\)", out, re.M)
    answers = re.findall(r"\((big|small)-model\) my answer to", out)
    assert len(served) == 6 and served.count("strong") == 3 and served.count("weak") == 3
    assert [("strong" if a == "big" else "weak") for a in answers[:6]] == served  # the model named is the one that answered
    turns = re.findall(r"served by: (.*)", out)
    assert turns == ["strong (on template:query_str)", "weak (on condense_template), weak (on template:query_str)"]


def test_agent_example_keeps_each_tool_loop_on_one_model_and_shows_escalation(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_main("llamaindex_agent.py")())
    out = capsys.readouterr().out
    served = re.findall(r"^ *(strong|weak) \(score 0\.\d+\): ", out, re.M)
    assert len(served) == 4 and set(served) == {"strong", "weak"}
    loops = re.findall(r"2 LLM steps: (\w+), (\w+) \(same turn\)\n +\((big|small)-model\) The result is", out)
    assert [(a, b, "strong" if m == "big" else "weak") for a, b, m in loops] == [(s, s, s) for s in served]
    assert "The result is 42.0." in out and "The result is 3367.0." in out
    conversation = out.split("sticky_sessions='escalate'")[1]
    assert re.findall(r"^ *(strong|weak)( \(kept by the policy\))?:", conversation, re.M) == [
        ("weak", ""), ("strong", ""), ("strong", " (kept by the policy)")
    ]
