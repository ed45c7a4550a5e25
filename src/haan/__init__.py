"""haan: weakly-supervised temporal action detection in fine-grained videos with HAAN
(Hierarchical Atomic Action Network; Li, He, Xu, ECCV 2022).

Modules: config, data, synth, model, losses, pseudo_labels, postprocess, metrics, train,
evaluate, cli. Importing the package imports nothing heavy.
"""

__version__ = "0.1.0"
