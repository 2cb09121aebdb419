"""MARS's label structure, measured once so generated data can copy it without the real files.

Every constant below was computed during development from the three metadata files of the public
MARS release (``info/tracks_train_info.mat``, ``info/tracks_test_info.mat``,
``info/query_IDX.mat`` from liangzheng06/MARS-evaluation): 8,298 train and 12,180 test tracklets,
1,191,003 frames. They are embedded because neither the generator nor the tests may depend on a
copy of MARS being present. The numbers describe the whole release (train and test together)
unless a name says otherwise.
"""

from __future__ import annotations

# Tracklet length quantiles (frames) at the matching percentiles, all 20,478 tracklets. The
# extra points above the 90th percentile keep the long tail: drawing uniformly in percentile
# and interpolating reproduces MARS's mean (58.2 frames) and median (33) within 1%.
LENGTH_PERCENTILES: tuple[float, ...] = (
    0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90,
    92.5, 95, 97.5, 99, 99.5, 99.9, 100,
)  # fmt: skip
LENGTH_QUANTILES: tuple[float, ...] = (
    2, 10, 12, 14, 15, 17, 19, 21, 25, 29, 33, 39, 46, 56, 68, 81, 97, 110, 138,
    154, 179, 219.1, 280, 326.6, 495.2, 920,
)  # fmt: skip
MEAN_LENGTH = 58.16
MEDIAN_LENGTH = 33.0

# How many identities (pid > 0, train and test) were seen by 1..6 cameras.
CAMERAS_PER_IDENTITY: dict[int, int] = {1: 14, 2: 434, 3: 386, 4: 269, 5: 109, 6: 47}

# How often each camera is among an identity's cameras (identities count once per camera).
CAMERA_WEIGHTS: dict[int, int] = {1: 1048, 2: 905, 3: 634, 4: 386, 5: 760, 6: 210}

# Number of (identity, camera) pairs that have k tracklets, the exact empirical distribution
# (3,943 pairs; mean 4.15, median 3, a long tail up to 180).
TRACKLETS_PER_CAMERA: dict[int, int] = {
    1: 783, 2: 744, 3: 664, 4: 493, 5: 385, 6: 261, 7: 181, 8: 120, 9: 80, 10: 59,
    11: 31, 12: 38, 13: 23, 14: 16, 15: 8, 16: 8, 17: 4, 18: 5, 19: 7, 20: 6, 21: 5,
    22: 4, 23: 2, 24: 2, 28: 2, 29: 2, 30: 1, 37: 1, 38: 1, 52: 1, 53: 1, 54: 1, 77: 1,
    97: 1, 99: 1, 180: 1,
}  # fmt: skip

# Test split only: distractor (pid 0) and junk (pid -1) tracklets and their cameras.
TEST_TRACKLETS = 12180
FRAMES = 1_191_003  # train and test
DISTRACTOR_TRACKLETS = 3248
JUNK_TRACKLETS = 870
DISTRACTOR_CAMERA_WEIGHTS: dict[int, int] = {1: 326, 2: 1666, 3: 96, 4: 259, 5: 532, 6: 369}
JUNK_CAMERA_WEIGHTS: dict[int, int] = {1: 110, 2: 149, 3: 14, 4: 99, 5: 145, 6: 353}
