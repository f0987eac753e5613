"""Pool routing (UniRoute): route among a changing pool of LLMs; new LLMs join by profile, without retraining.

Importing this package loads no model and touches no data.
"""

from routellm_plugins.pool.profiles import LLMProfiles, exact_match, read_graded_answers
from routellm_plugins.pool.routers import (
    KNNRouter,
    PoolPolicy,
    PoolRouter,
    UniRouteKMeans,
    UniRouteLearnedMap,
    ZeroRouter,
    load_pool,
    upper_hull,
)
from routellm_plugins.pool.spec import PoolSpec, resolve_pool

__all__ = [
    "KNNRouter",
    "LLMProfiles",
    "PoolPolicy",
    "PoolRouter",
    "PoolSpec",
    "UniRouteKMeans",
    "UniRouteLearnedMap",
    "ZeroRouter",
    "exact_match",
    "load_pool",
    "read_graded_answers",
    "resolve_pool",
    "upper_hull",
]
