"""Evaluation harness: gold set, pure metrics, the runner, the llama-index baseline, refusal tuning.

``from evals.runner import run_eval`` is what ``rag eval`` calls. Nothing here is imported by ``rag``.
"""
