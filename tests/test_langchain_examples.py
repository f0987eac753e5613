"""The LangChain examples run offline with the bundled default router, use both models, and say
which model served each prompt."""

from __future__ import annotations

import re
import runpy
import warnings
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: object) -> int:
    namespace = runpy.run_path(str(EXAMPLES / name), run_name="example")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the examples use the current setting names
        return namespace["main"](*args)


def test_chain_example_uses_both_models_and_shows_the_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_example("langchain_chain.py", []) == 0
    out = capsys.readouterr().out
    served = [line.split()[1] for line in out.splitlines() if line.strip().startswith("-> ")]
    assert len(served) == 8 and set(served) == {"strong", "weak"}
    assert re.search(r"served: strong [1-7], weak [1-7]", out)
    assert re.search(r"> ChatRouteLLM \[chose (strong|weak), score 0\.\d+\] > ScriptedChatModel \(gpt-4o(-mini)?\)", out)
    routed_chains = re.findall(r"-> (strong|weak) chain: '\[(gpt-4o(?:-mini)?)\]", out)
    assert len(routed_chains) == 2 and all((who == "strong") == (model == "gpt-4o") for who, model in routed_chains)


def test_agent_example_runs_tool_loops_on_both_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_example("langchain_agent.py") == 0
    out = capsys.readouterr().out
    served = re.findall(r"served by (strong|weak) \((strong|weak)-model\)", out)
    assert len(served) == 8 and {who for who, _ in served} == {"strong", "weak"}
    assert all(who == model for who, model in served)
    assert "tools: calculator((372 / 4) * 7)" in out and "The answer is 651." in out
    calls = re.search(r"model calls: strong=(\d+), weak=(\d+)", out)
    assert calls and int(calls[1]) > 0 and int(calls[2]) > 0
    assert "tool formats: strong=['function', 'type'], weak=['description', 'input_schema', 'name']" in out
