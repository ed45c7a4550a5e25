"""Why a detector scores what it scores: DETAD's analyses (Alwassel et al., ECCV 2018) and the
hierarchy's, as pure functions over arrays. `protocol` holds the settings (DETAD's THUMOS14 and
ActivityNet ones, and haan's), `matching` the ActivityNet greedy matching that keeps which ground
truth each detection took, `normalized_ap` DETAD's AP_N, `false_positives` the error types, their
breakdown by rank and the gain of removing each, `false_negatives` the miss rate per bin of a
ground-truth characteristic, `sensitivity` AP_N per bin, `hierarchy` the label errors split by
coarse class. No files, no printing: haan.recipes.diagnose reads the files and writes the report.

May import: the base, haan.evaluation.metrics.
"""
