"""Figures (matplotlib), a module per figure: one video's detections (`video`), a training run's
curves (`training`), an evaluation report's AP (`ap`) and `haan compare`'s mAP over seeds
(`compare_figure`), with the formats and helpers they share (`figures`); `plots` re-exports them
all. `compare`: `haan compare` of runs and seed summaries, its tables and figure. `report`: the
self-contained HTML page of `haan report` and `haan predict --html`.

May import: the base, haan.runtime, haan.data, haan.evaluation, haan.engine.
"""
