"""Figures (matplotlib): training curves, per-class AP, a video's detections (`plots`), and
`haan compare` of runs and seed summaries (`compare`).

May import: the base, haan.runtime, haan.data, haan.evaluation, haan.engine.
"""
