"""The console script's commands on real data and bundled checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_plugins.cli import main


def test_score_writes_one_score_per_prompt_in_order(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"prompt": p}) for p in ["hi", "Prove Fermat's little theorem.", "2+2?"]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["score", "--router", "mf", "--input", str(src), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(0 <= r["score"] <= 1 for r in rows)


def test_score_refuses_a_file_without_prompt_column(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("question\nwhat?\n")
    assert main(["score", "--router", "mf", "--input", str(src), "--output", str(tmp_path / "o")]) == 2
    assert "no 'prompt' field" in capsys.readouterr().err


def test_calibrate_prints_threshold_and_model_string(capsys):
    assert main(["calibrate", "--router", "sw_ranking", "--strong-share", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "router-sw_ranking-0." in out and "25%" in out


def test_route_prints_a_decision(capsys):
    assert main(["route", "What is 17 * 23?", "--router", "mf", "--threshold", "0.0"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"] == "strong" and d["router"] == "mf"


def test_evaluate_on_gsm8k_prints_apgr_and_writes_plot(tmp_path, capsys, shared_data):
    png = tmp_path / "curve.png"
    code = main(["evaluate", "--benchmark", "gsm8k", "--routers", "mf,random", "--data-dir", str(shared_data),
                 "--plot", str(png), "--limit", "150"])
    assert code == 0
    out = capsys.readouterr().out
    assert "APGR" in out and "CPT(50%)" in out and "length (baseline)" in out and "references: strong=" in out
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_a_routellm_csv_path(tmp_path, capsys, shared_data):
    csv_path = shared_data / "routellm_evals" / "mmlu" / "mmlu_astronomy.csv"
    assert main(["evaluate", "--benchmark", str(csv_path), "--routers", "random", "--plot", ""]) == 0
    assert "mmlu_astronomy.csv" in capsys.readouterr().out


def test_evaluate_mt_bench_jsonl(tmp_path, capsys):
    q = tmp_path / "question.jsonl"
    j = tmp_path / "judge.jsonl"
    q.write_text("".join(json.dumps({"question_id": i, "turns": [f"question number {i}?"]}) + "\n" for i in range(20)))
    j.write_text("".join(json.dumps({"question_id": i, "model": m, "score": (i % 7) + (3 if m == "big" else 0), "turn": 1}) + "\n"
                         for i in range(20) for m in ("big", "small")))
    assert main(["evaluate", "--benchmark", str(q), "--judgements", str(j), "--routers", "random", "--plot", ""]) == 0
    assert "big vs small" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["route", "hi", "--router", "nope"], "unknown router 'nope'"),
    (["route", "   ", "--router", "random", "--threshold", "0.5"], "empty or whitespace"),
    (["route", "hi", "--router", "mf", "--threshold", "2"], "threshold must be in [0, 1]"),
    (["evaluate", "--benchmark", "nowhere.csv", "--routers", "random"], "does not exist"),
])
def test_errors_are_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_demo_runs_on_bundled_defaults(capsys):
    assert main(["demo", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "saved" in out and "strong calls" in out and out.count("\n") > 6


# ---- issue 14 CLI: help on every flag, router names listed, the default router, streaming score with ids ----
def _subparsers():
    import argparse

    from routellm_plugins.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


@pytest.mark.parametrize("command", ["demo", "route", "score", "calibrate", "evaluate", "train"])
def test_every_flag_has_help_text(command):
    _, commands = _subparsers()
    flags = [a for a in commands[command]._actions if a.dest != "help"]
    missing = [a.dest for a in flags if not (a.help and a.help.strip())]
    assert flags and not missing, f"{command}: flags without help: {missing}"


@pytest.mark.parametrize("command", ["demo", "route", "score", "calibrate"])
def test_router_flag_lists_the_routers_and_defaults_to_the_default_router(command):
    from routellm_plugins.registry import DEFAULT_ROUTER, available_routers

    _, commands = _subparsers()
    action = next(a for a in commands[command]._actions if a.dest == "router")
    assert action.default == DEFAULT_ROUTER
    assert all(name in action.help for name in available_routers())


def test_score_streams_in_chunks_and_passes_the_id_field_through(tmp_path, monkeypatch):
    import routellm_plugins.routers.base as base
    from routellm_plugins import load_router

    prompts = [f"Question {i}: what is {i} times {i + 3}?" for i in range(23)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p} if i % 5 else {"prompt": p}) + "\n" for i, p in enumerate(prompts)))
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(base, "SCORE_CHUNK", 4)  # 23 prompts -> 6 chunks read, scored and written in turn
    assert main(["score", "--input", str(src), "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("id") for r in rows] == [None if i % 5 == 0 else f"q{i}" for i in range(23)]
    expected = load_router().score(prompts)  # the CLI's default router
    assert np.allclose([r["score"] for r in rows], expected, atol=1e-5)


def test_score_names_the_line_of_an_empty_prompt(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "fine"}\n{"prompt": "\\u200b"}\n')
    assert main(["score", "--router", "random", "--input", str(src), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "index 1" in err and err.count("\n") == 1


def test_calibrate_warns_on_few_prompts_and_refuses_none(tmp_path, capsys):
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"prompt": f"prompt number {i}"}) + "\n" for i in range(30)))
    assert main(["calibrate", "--router", "random", "--strong-share", "0.3", "--input", str(few)]) == 0
    assert "warning: calibrating on only 30 prompts" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["calibrate", "--router", "random", "--strong-share", "0.3", "--input", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "holds no prompts" in err and err.count("\n") == 1


def test_a_deeply_nested_input_line_is_one_clear_line(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    assert main(["score", "--router", "random", "--input", str(src)]) == 2
    err = capsys.readouterr().err
    assert "line 1 nests deeper than" in err and "Traceback" not in err


def test_progress_bar_on_a_terminal_and_none_with_quiet_or_off_a_terminal(capsys, monkeypatch):
    import sys

    import routellm_plugins.progress as progress

    assert main(["demo", "--router", "random", "--limit", "1"]) == 0
    assert "scoring (random)" not in capsys.readouterr().err  # not a terminal: no bar
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # show at once (normally after a second of work)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["demo", "--router", "random", "--limit", "1"]) == 0
    assert "scoring (random)" in capsys.readouterr().err
    assert main(["demo", "--router", "random", "--limit", "1", "--quiet"]) == 0
    assert "scoring (random)" not in capsys.readouterr().err
