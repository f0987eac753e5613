"""Pool routing (UniRoute): route among a changing pool of LLMs; new LLMs join by profile, without retraining.

Importing this package loads no model and touches no data.
"""

from routellm_plugins.pool.costs import model_price
from routellm_plugins.pool.names import profiled_name
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
from routellm_plugins.pool.spec import LITELLM_COST_UNIT, PoolSpec, litellm_cost, resolve_pool

__all__ = [
    "LITELLM_COST_UNIT",
    "KNNRouter",
    "LLMProfiles",
    "PoolPolicy",
    "PoolRouter",
    "PoolSpec",
    "UniRouteKMeans",
    "UniRouteLearnedMap",
    "ZeroRouter",
    "exact_match",
    "litellm_cost",
    "load_pool",
    "model_price",
    "profiled_name",
    "read_graded_answers",
    "resolve_pool",
    "upper_hull",
]
