"""From video files to clip features (`haan extract`): PyAV decoding with timestamp resampling
(`decode`), TV-L1 optical flow (`flow`), the clip grid (`grid`), I3D (`i3d`) and the pipeline that
writes features and grids (`extract`). `grid`, `decode` and `flow` import only numpy when loaded
(PyAV and OpenCV when used); `i3d` and `extract` import torch.

May import: the base, haan.runtime, haan.data (to write feature stores).
"""
