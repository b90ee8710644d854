"""What a classifier graph's `pool` input holds: each text's pooling weights, computed once a batch in numpy.

The graph pools a padded batch without deriving masks from the lengths itself (a dozen small operators that
cost more than the pooling at batch 1): pool [B, T, 3] float32 gives, per position, a one-hot of the last real
token (last pooling), 0 at real tokens and -inf at padding (added before max pooling; attention's mask), and
1/length at real tokens (mean pooling as a weighted sum). The predictor and the export's check both build it here.
"""

from __future__ import annotations

import numpy as np

LAST, MASK, MEAN = 0, 1, 2  # the columns of pool


def pool_weights(lengths: np.ndarray, steps: int) -> np.ndarray:
    """[B, steps, 3] float32 pooling weights of texts of `lengths` (each 1..steps) padded to `steps`."""
    lengths = np.asarray(lengths, np.int64)
    real = np.arange(steps)[None, :] < lengths[:, None]
    pool = np.zeros((len(lengths), steps, 3), np.float32)
    pool[np.arange(len(lengths)), np.maximum(lengths, 1) - 1, LAST] = 1.0
    pool[..., MASK] = np.where(real, 0.0, -np.inf)
    pool[..., MEAN] = real / np.maximum(lengths, 1)[:, None].astype(np.float32)
    return pool
