"""The networks and what they learn from: HAAN (`haan`: the encoder and the three classifiers,
`losses`: the paper's four losses), the W-TALC baseline (`wtalc`), the method a config chooses
(`methods`: a network and its loss of the same shape, its optimizer from `optim`), and atomic
actions (`kmeans`, `pseudo_labels`). Losses, k-means and pseudo labels are pure functions over
tensors: no I/O, no printing.

May import: the base, haan.runtime, haan.data (types only).
"""
