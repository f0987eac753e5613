"""The LangChain examples run offline and say which model answered each prompt."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_chain_example_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "langchain_chain.py"), run_name="example")
    assert namespace["main"]([]) == 0
    out = capsys.readouterr().out
    served = [line for line in out.splitlines() if line.strip().startswith("-> ")]
    assert len(served) >= 3 and all(("strong" in line) or ("weak" in line) for line in served)
    assert "RouterRunnable between two chains" in out and " chain: " in out


def test_agent_example_runs_a_tool_loop_offline(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "langchain_agent.py"), run_name="example")
    assert namespace["main"]() == 0
    out = capsys.readouterr().out
    assert out.count("served by ") == 5
    assert "tools: calculator((372 / 4) * 7)" in out and "The answer is 651." in out
    assert "The answer is 7006561." in out
