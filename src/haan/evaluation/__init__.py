"""The scoring: detections from clip scores (`postprocess`), ActivityNet's detection mAP
(`metrics`), ActivityNet-format files scored with ActivityNet's rules (`activitynet`), a model's
detections and mAP on a dataset (`evaluate`), and the tables and JSON reports (`reports`).
`postprocess` and `metrics` are pure functions over arrays.

May import: the base, haan.runtime, haan.data, haan.models.
"""
