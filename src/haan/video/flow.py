"""TV-L1 optical flow for I3D's flow stream, as in the original I3D pipeline.

OpenCV's implementation (`cv2.optflow.DualTVL1OpticalFlow_create`, from the contrib modules of
`opencv-contrib-python-headless`), with its default parameters, on the grayscale frames that the
RGB stream sees (resampled, resized and cropped). Displacements are clipped to [-20, 20] pixels
and divided by 20, so the two channels (x, y) lie in [-1, 1].

Frame i's flow is the motion from frame i to frame i + 1; the last frame repeats the flow before
it (a one-frame video has zero flow), so that the flow stream has as many frames as the RGB
stream and both share one clip grid.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from haan.errors import InputError
from haan.video.decode import INSTALL_HINT

FLOW_BOUND = 20.0  # pixels


def create_tvl1() -> Any:
    """A TV-L1 optical flow object (OpenCV 4 and 5 keep it in cv2.optflow), or one InputError
    line saying what to install."""
    try:
        import cv2
    except ImportError:
        raise InputError("OpenCV is not installed (rgb+flow needs its TV-L1 optical flow): "
                         f"{INSTALL_HINT}") from None
    factory = getattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create", None)
    if factory is None:
        raise InputError(f"OpenCV {cv2.__version__} has no TV-L1 optical flow "
                         "(cv2.optflow.DualTVL1OpticalFlow_create, a contrib module): install "
                         "opencv-contrib-python-headless instead of opencv-python")
    return factory()


def scale_flow(flow: np.ndarray) -> np.ndarray:
    """(H, W, 2) displacements in pixels -> float32 in [-1, 1] (clipped at +-20 pixels)."""
    return (np.clip(flow, -FLOW_BOUND, FLOW_BOUND) / FLOW_BOUND).astype(np.float32)


def with_flow(frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rgb, flow) for each (H, W, 3) uint8 RGB frame: flow (H, W, 2) float32 in [-1, 1], see
    the module's docstring. Streaming, one frame behind the input."""
    tvl1 = create_tvl1()
    import cv2  # present: create_tvl1 checked
    previous = previous_gray = flow = None
    for frame in frames:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if previous is not None:
            flow = scale_flow(tvl1.calc(previous_gray, gray, None))
            yield previous, flow
        previous, previous_gray = frame, gray
    if previous is not None:
        yield previous, (flow if flow is not None
                         else np.zeros((*previous.shape[:2], 2), dtype=np.float32))


__all__ = ["FLOW_BOUND", "create_tvl1", "scale_flow", "with_flow"]
