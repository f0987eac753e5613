"""examples/litellm_router.py runs offline and shows both models (and several pool models) serving requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^  (?P<label>.{34}) -> (?P<choice>\S+)\s+score=\S+\s+served by (?P<served>\S+)")


def sections(out: str) -> list[list[dict]]:
    """The decision lines of the example's output, grouped under each route heading."""
    groups: list[list[dict]] = []
    for line in out.splitlines():
        if re.match(r"^(\d\)| {3}route )", line):
            groups.append([])
        m = LINE.match(line)
        if m and groups:
            groups[-1].append(m.groupdict())
    return groups


def test_litellm_router_example_routes_to_both_models_and_several_pool_models():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, str(REPO / "examples" / "litellm_router.py")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    two_model, pool, demo, own = [g for g in sections(out) if g]
    assert {line["served"] for line in two_model} == {"openai/gpt-4o", "openai/gpt-4o-mini"}  # both models served
    assert {line["choice"] for line in two_model} == {"strong", "weak"}
    assert any("(Responses API)" in line["label"] for line in two_model)
    assert len({line["served"] for line in pool}) >= 2  # several pool models served
    assert {line["choice"] for line in pool} <= {"gpt-4-turbo", "gpt-3.5-turbo", "mixtral"}
    assert demo[0]["choice"] == "weak" and demo[0]["served"] == "openai/gpt-4o" and "LiteLLM fallback" in out
    assert {line["served"] for line in own} == {"openai/gpt-4o", "openai/gpt-4o-mini"}
    assert re.search(r"streamed chunk .* from the (strong|weak) model", out)
    assert "served by: " in out and "decided:   " in out and re.search(r"saved: \$\d+\.\d+ \(\d+\.\d%\)", out)
