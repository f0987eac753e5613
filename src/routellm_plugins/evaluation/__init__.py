"""Evaluation of routers: cost–quality curves (APGR, CPT), named benchmarks, baselines and the suite."""

from routellm_plugins.evaluation.curves import (
    Curve,
    RouterReport,
    apgr,
    cost_quality_curve,
    cpt,
    evaluate_scores,
    format_table,
    plot_curves,
)

__all__ = ["Curve", "RouterReport", "apgr", "cost_quality_curve", "cpt", "evaluate_scores", "format_table", "plot_curves"]
