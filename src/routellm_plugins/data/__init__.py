"""Loaders for graded LLM answers (RouteLLM evals, RouterBench, RouterDC, MT-Bench) and prompt files."""

from routellm_plugins.data.graded import GradedSet, canonical_model, default_data_dir

__all__ = ["GradedSet", "canonical_model", "default_data_dir"]
