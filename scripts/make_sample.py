"""Rebuild src/routellm_plugins/assets/sample_prompts.jsonl from ../shared/data (RouteLLM evals, Apache-2.0).

200 MMLU prompts from the held-out fold 0 and 200 GSM8K prompts, seeded; prompts over 1,500
characters are skipped to keep the package small. Run: python scripts/make_sample.py [DATA_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK
from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu
from routellm_plugins.training import MMLU_TEST_FOLD, N_FOLDS

data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
rng = np.random.default_rng(0)
mmlu = load_mmlu(data_dir)
mmlu = mmlu.subset(mmlu.folds(N_FOLDS) == MMLU_TEST_FOLD)
rows = []
for data, n in ((mmlu, 200), (load_gsm8k(data_dir), 200)):
    ok = [i for i, p in enumerate(data.prompts) if len(p) <= 1500]
    for i in sorted(rng.choice(ok, n, replace=False)):
        rows.append({"prompt": data.prompts[i], "source": data.groups[i],
                     "strong_correct": bool(data.column(ROUTELLM_STRONG)[i]), "weak_correct": bool(data.column(ROUTELLM_WEAK)[i])})
order = rng.permutation(len(rows))
out = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "sample_prompts.jsonl"
out.write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in order), encoding="utf-8")
print(f"wrote {len(rows)} prompts to {out}")
