"""The figure functions under one name (`from haan.viz.plots import plot_video`), as before they
were split by figure: formats and writing in haan.viz.figures, one video in haan.viz.video, a
training run in haan.viz.training, an evaluation report in haan.viz.ap and `haan compare`'s in
haan.viz.compare_figure. Re-exports only."""

from __future__ import annotations

from haan.viz.ap import (
    APCurves,
    ap_report_curves,
    per_class_order,
    plot_ap,
    plot_ap_report,
    read_ap_report,
)
from haan.viz.compare_figure import plot_compare
from haan.viz.figures import FORMATS, figure_format, save_figure
from haan.viz.training import (
    TrainingCurves,
    best_epoch,
    plot_training,
    plot_training_run,
    read_training_curves,
)
from haan.viz.video import plot_video, shown_video_classes

__all__ = [
    "APCurves", "FORMATS", "TrainingCurves", "ap_report_curves", "best_epoch", "figure_format",
    "per_class_order", "plot_ap", "plot_ap_report", "plot_compare", "plot_training",
    "plot_training_run", "plot_video", "read_ap_report", "read_training_curves", "save_figure",
    "shown_video_classes",
]
