"""Rebuild src/routellm_plugins/assets/sample_prompts.jsonl from ../shared/data: traffic-like, permissive sources only.

The sample is the demo's input and the default calibration set, so it mixes open chat with exam
prompts: 150 arena_bench_v1 prompts (Apache-2.0), 75 MMLU prompts from the held-out fold 0 and
75 GSM8K prompts (RouteLLM evaluation data, Apache-2.0), and 50 MBPP prompts from RouterBench's
test split (MIT). No AlpacaEval (CC BY-NC) prompt is included. Each row records the strong
(GPT-4-1106) and weak (Mixtral-8x7B) model's quality in [0, 1] and its source and licence.
Prompts over 1,500 characters are skipped to keep the package small.
Run: python scripts/make_sample.py [DATA_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np

from routellm_plugins.evaluation.benchmarks import load_named_benchmark, strong_weak_columns
from routellm_plugins.data.chat import load_arena_bench
from routellm_plugins.data.routerbench import load_routerbench
from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK

data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
rng = np.random.default_rng(0)
rb = load_routerbench("test", data_dir).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])
rb = rb.subset(np.array(["mbpp" in g for g in rb.groups]))
plan = (
    (load_arena_bench(data_dir), 150, "Apache-2.0 (lm-sys/arena-hard-auto, arena-bench-v1)"),
    (load_named_benchmark("mmlu", data_dir), 75, "Apache-2.0 (lm-sys/RouteLLM evaluation data)"),
    (load_named_benchmark("gsm8k", data_dir), 75, "Apache-2.0 (lm-sys/RouteLLM evaluation data)"),
    (rb, 50, "MIT (withmartian/routerbench)"),
)
rows = []
for data, n, licence in plan:
    qs, qw, _, _ = strong_weak_columns(data, None, None)
    ok = [i for i, p in enumerate(data.prompts) if len(p) <= 1500 and np.isfinite(qs[i]) and np.isfinite(qw[i])]
    for i in sorted(rng.choice(ok, min(n, len(ok)), replace=False)):
        rows.append({"prompt": data.prompts[i], "source": data.groups[i], "licence": licence,
                     "strong_quality": round(float(qs[i]), 4), "weak_quality": round(float(qw[i]), 4)})
order = rng.permutation(len(rows))
out = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "sample_prompts.jsonl"
out.write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in order), encoding="utf-8")
print(f"wrote {len(rows)} prompts to {out}")
