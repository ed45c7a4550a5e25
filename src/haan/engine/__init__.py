"""Training runs: the epoch loop (`loop`), the pseudo-label step of an epoch over the dataset and
the processes (`pseudo_labelling`), the run folder, its saved state and resume (`state`),
checkpoint sets (`checkpoints`), training over several seeds (`seeds`), and the TensorBoard
curves of a run (`board`).

May import: the base, haan.runtime, haan.data, haan.models, haan.evaluation.
"""
