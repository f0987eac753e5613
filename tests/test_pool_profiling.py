"""Profiling a new LLM through LiteLLM (mock_response models: no network): grading, judge, retries, resume, estimate."""

from __future__ import annotations

import asyncio
import json

import litellm
import numpy as np
import pytest

from routellm_plugins import ConfigError
from routellm_plugins.pool.profiling import (
    CHECK,
    EXACT,
    REFERENCE,
    SCALE,
    ProfileItem,
    estimate,
    parse_rating,
    profile_items,
    read_progress,
    run_profile,
)

ITEMS = [
    ProfileItem("arc:1", "routerbench/arc-challenge", "Which is a mammal?\nA) trout\nB) whale\nAnswer:", EXACT, answer="B"),
    ProfileItem("arc:2", "routerbench/arc-challenge", "Which is a gas?\nA) ice\nB) rock\nC) steam\nAnswer:", EXACT, answer="C"),
    ProfileItem("gsm:1", "routellm_evals/gsm8k", "Ann has 3 apples and buys 15 more. How many apples does she have?", EXACT, answer="18"),
    ProfileItem("mbpp:1", "routerbench/mbpp", "Write a function that adds two numbers.", REFERENCE, reference="def add(a, b):\n    return a + b"),
    ProfileItem("arena:1", "arena_bench_v1", "Write a haiku about routers.", SCALE),
    ProfileItem("gsmt:1", "routerdc/gsm8k-train", "Bo has 4 pens and loses 1. How many pens are left?", CHECK),
]
MODEL, JUDGE = "openai/gpt-4o-mini", "openai/gpt-4o"


def _fake_llm(calls: list, fail_ids: set[str] = frozenset(), fail_first: bool = False):
    """A completion function that goes through litellm.acompletion with a mock_response chosen per call."""
    seen: set[str] = set()

    async def completion(**kw):
        text = kw["messages"][-1]["content"]
        calls.append((kw["model"], text[:30]))
        if kw["model"] == JUDGE:
            reply = "[[1]]" if "reference solution" in text else "[[0]]" if "maths word problem" in text else "[[7]]"
        else:
            item = next(it for it in ITEMS if it.prompt in text)
            key = item.id
            if key in fail_ids or (fail_first and key not in seen):
                seen.add(key)
                reply = litellm.RateLimitError("quota for sk-secret-123 exceeded on " + text[:20], llm_provider="openai", model="gpt-4o-mini")
            else:
                reply = {"arc:1": "B", "arc:2": "A", "gsm:1": "3 + 15 = 18\n18", "gsmt:1": "4 - 1 = 5\n5"}.get(key, "def add(a, b): return a + b")
        return await litellm.acompletion(**kw, mock_response=reply)

    return completion


def test_run_grades_by_rule_against_a_reference_and_on_a_scale(tmp_path):
    calls: list = []
    res = asyncio.run(run_profile(ITEMS, MODEL, tmp_path / "p.jsonl", judge=JUDGE, completion=_fake_llm(calls), progress=True))
    assert res.scores == {"arc:1": 1.0, "arc:2": 0.0, "gsm:1": 1.0, "mbpp:1": 1.0, "arena:1": pytest.approx(6 / 9), "gsmt:1": 0.0}
    assert res.failed == 0 and res.ungradable == 0
    assert sum(m == JUDGE for m, _ in calls) == 3  # the code, the open and the unanswered maths prompt go to the judge
    recs = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert {r["id"] for r in recs} == {it.id for it in ITEMS} and all("response" in r for r in recs)


def test_failed_prompts_are_retried_on_resume_and_errors_hide_provider_text(tmp_path):
    path = tmp_path / "p.jsonl"
    calls: list = []
    res = asyncio.run(run_profile(ITEMS, MODEL, path, judge=JUDGE, retries=1, backoff_s=0.0, progress=False,
                                  completion=_fake_llm(calls, fail_ids={"gsm:1"})))
    assert set(res.scores) == {"arc:1", "arc:2", "mbpp:1", "arena:1", "gsmt:1"} and res.failed == 1
    failed = [json.loads(line) for line in path.read_text().splitlines() if json.loads(line)["id"] == "gsm:1"]
    assert failed[0]["score"] is None and failed[0]["error"] == "RateLimitError (status 429)"
    assert "sk-secret" not in path.read_text() and "quota" not in path.read_text()
    assert sum(t.startswith("Ann has") for _, t in calls) == 2  # first try + one retry
    calls.clear()
    res = asyncio.run(run_profile(ITEMS, MODEL, path, judge=JUDGE, progress=False, completion=_fake_llm(calls)))
    assert len(res.scores) == 6 and res.scores["gsm:1"] == 1.0
    assert [t for m, t in calls] == ["Ann has 3 apples and buys 15 m"]  # only the missing prompt ran again
    assert set(read_progress(path)) == {it.id for it in ITEMS}


def test_transient_errors_are_retried_with_backoff(tmp_path):
    calls: list = []
    res = asyncio.run(run_profile(ITEMS, MODEL, tmp_path / "p.jsonl", judge=JUDGE, retries=2, backoff_s=0.0, concurrency=2,
                                  progress=False, completion=_fake_llm(calls, fail_first=True)))
    assert len(res.scores) == 6 and res.failed == 0
    assert sum(m == MODEL for m, _ in calls) == 12  # each prompt failed once, then succeeded


def test_bad_settings_and_bad_records_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="concurrency"):
        asyncio.run(run_profile(ITEMS, MODEL, tmp_path / "p.jsonl", judge=JUDGE, concurrency=0))
    with pytest.raises(ConfigError, match="retries"):
        asyncio.run(run_profile(ITEMS, MODEL, tmp_path / "p.jsonl", judge=JUDGE, retries=-1))
    from routellm_plugins import DataFormatError

    with pytest.raises(DataFormatError, match="'x1' has unknown grading 'vibes'"):
        profile_items([{"id": "x1", "prompt": "p", "grading": "vibes"}])
    with pytest.raises(DataFormatError, match="'x2' is graded by exact match but has no answer"):
        profile_items([{"id": "x2", "prompt": "p", "grading": "exact"}])
    assert profile_items([{"id": "x3", "prompt": "p"}]) == []


def test_judge_verdicts_parse_to_the_stored_scales():
    assert parse_rating("[[7]]", SCALE) == pytest.approx(6 / 9)
    assert parse_rating("Rating: [[10]]", SCALE) == 1.0 and parse_rating("[[1]]", SCALE) == 0.0
    assert parse_rating("[[11]]", SCALE) is None and parse_rating("seven", SCALE) is None
    assert parse_rating("[[1]]", REFERENCE) == 1.0 and parse_rating("[[0]]", REFERENCE) == 0.0
    assert parse_rating("[[0.5]]", REFERENCE) is None
    assert parse_rating("[[1]]", CHECK) == 1.0 and parse_rating("[[7]]", CHECK) is None


def test_estimate_prices_both_models_with_litellm():
    est = estimate(ITEMS, "gpt-4o-mini", "gpt-4o", concurrency=4)
    assert est.calls == 6 and est.judge_calls == 3
    assert est.input_tokens > 50 and est.output_tokens > 0 and est.judge_input_tokens > est.judge_calls * 50
    assert est.cost_usd == pytest.approx(est.input_tokens * 1.5e-7 + est.output_tokens * 6e-7)
    assert est.judge_cost_usd == pytest.approx(est.judge_input_tokens * 2.5e-6 + est.judge_output_tokens * 1e-5)
    assert est.seconds > 0 and "$" in est.text()
    unknown = estimate(ITEMS, "my-local-model-xyz", "gpt-4o")
    assert unknown.cost_usd is None and unknown.total_usd is None and "unknown" in unknown.text()


def _cli(argv):
    import argparse

    from routellm_plugins.cli_pool import add_pool_commands

    parser = argparse.ArgumentParser(prog="routellm-plugins")
    add_pool_commands(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_profiles_a_litellm_model_into_the_bundled_pool(tmp_path, capsys):
    """Estimate, confirmation, run, resume and routing by LiteLLM name, on the bundled pool's profiling prompts."""
    from routellm_plugins import RoutingController
    from routellm_plugins.pool import load_pool

    out = tmp_path / "pool"
    base = ["profile", "--model", "openai/gpt-4o-mini", "--judge", "openai/gpt-4o", "--limit", "12", "--out", str(out), "--quiet",
            "--min-coverage", "0.02", "--completion-kwargs", json.dumps({"mock_response": "B"}),
            "--judge-kwargs", json.dumps({"mock_response": "[[1]]"})]
    progress = out / "profile-openai_gpt-4o-mini.jsonl"
    assert _cli(base + ["--estimate-only"]) == 1
    text = capsys.readouterr().out
    assert "profiling openai/gpt-4o-mini: 12 prompts" in text and "judge openai/gpt-4o" in text and "$" in text
    assert not progress.exists()
    assert _cli(base) == 1  # stdin is not a terminal and no --yes: nothing is spent
    assert "--yes" in capsys.readouterr().err and not progress.exists()
    assert _cli(base + ["--yes"]) == 0
    text = capsys.readouterr().out
    assert "graded 12/12 profiling prompts (0 failed" in text
    pool = load_pool(out)
    prof = pool.profiles
    col = prof.column("openai/gpt-4o-mini")
    graded = {pid: s for pid, s in zip(prof.ids, prof.scores[:, col]) if s == s}
    assert len(graded) == 12
    by_id = {r["id"]: r for r in prof.prompt_records()}
    for pid, score in graded.items():
        rec = by_id[pid]
        want = {"reference": 1.0, "check": 1.0, "scale": 0.0}.get(rec["grading"], float(rec["answer"] == "B"))
        assert score == want, (rec["grading"], rec.get("answer"), score)
    assert prof.costs[col] == pytest.approx(1.5e-7 + 6e-7)  # its LiteLLM price, in the pool's unit
    assert len(progress.read_text().splitlines()) == 12
    # A second run resumes: everything is done, nothing is sent again.
    assert _cli(base + ["--yes", "--replace", "--completion-kwargs", json.dumps({"mock_response": "A"})]) == 0
    assert "12 already done" in capsys.readouterr().out
    again = load_pool(out).profiles
    assert np.array_equal(again.scores[:, again.column("openai/gpt-4o-mini")], prof.scores[:, col], equal_nan=True)
    # The new model routes under its LiteLLM name, priced by LiteLLM, beside a bundled one.
    ctl = RoutingController(router=pool, pool=["gpt-4o-mini", "openai/gpt-4-1106-preview"], lam=1000.0)
    d = ctl.decide("Write a Python function that reverses a string.")
    assert d.model in ctl.keys and not d.fallback
    assert [c.cost for c in d.candidates] == pytest.approx([7.5e-7, 4e-5])
