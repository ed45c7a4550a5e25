"""The runs the command lines start, each readable top to bottom: `train` (`haan train`, the
paper's `python main.py`) and `evaluate` (`haan evaluate`, `main.py --evaluation-only`). Each
loads the config and the dataset, picks the device, calls the engine and the evaluation, writes
the outputs and reports.

May import: everything below haan.cli except haan.predict.
"""
