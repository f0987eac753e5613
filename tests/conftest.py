"""Test-wide settings: offline hub, LiteLLM's local price map, and where the shared data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Property tests draw the same examples on every run, so the suite's result does not depend on luck;
# ROUTELLM_HYPOTHESIS_EXPLORE=1 draws fresh random examples (to hunt for new failures locally).
hypothesis_settings.register_profile("fixed", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("explore" if os.environ.get("ROUTELLM_HYPOTHESIS_EXPLORE") else "fixed")

REPO = Path(__file__).resolve().parents[1]
#: The code reads $ROUTELLM_DATA (routellm_plugins.data.graded); $ROUTELLM_SHARED_DATA is the older name.
SHARED_DATA = Path(os.environ.get("ROUTELLM_DATA") or os.environ.get("ROUTELLM_SHARED_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only training/evaluation data beside the repo (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set ROUTELLM_DATA")
    return SHARED_DATA
