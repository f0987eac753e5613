"""The console script's commands on real data and bundled checkpoints."""

from __future__ import annotations

import json

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
