"""`haan report` and `haan predict --html`: one self-contained HTML page of a detections file, to
open offline from disk or send to a colleague.

    assemble   the page's data from the files: each video's detections and ground truth, the
               video file found by id (a relative path from the page), the evaluation (haan's own
               ActivityNet evaluator) with each detection's true/false positive at each tIoU, the
               figures and numbers of a diagnosis folder
    page       the HTML: the template files of this package (report.html, report.css, report.js)
               with the data as escaped JSON inside, a strict Content-Security-Policy, no network

    write_report(predictions_path, "report.html", ReportOptions(ground_truth=...))

May import: the base, haan.runtime, haan.data, haan.evaluation.
"""

from haan.viz.report.assemble import ReportOptions, ReportSummary, report_data, write_report
from haan.viz.report.page import escape_json_for_html, render_page

__all__ = ["ReportOptions", "ReportSummary", "escape_json_for_html", "render_page", "report_data",
           "write_report"]
