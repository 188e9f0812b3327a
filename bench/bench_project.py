"""Companion of bench_project.c: times cv2.projectPoints and a vectorised numpy implementation of
the same pinhole + 5-coefficient radtan model on the points the C bench wrote (float32 x y z in
the camera frame), single-threaded for numpy; OpenCV uses its own threading."""
import sys
import time

import cv2
import numpy as np

pts = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 3)
n = len(pts)
K = np.array([[1000.0, 0, 960], [0, 1000, 540], [0, 0, 1]])
d = np.array([-0.3, 0.1, 0.001, -0.0015, -0.02])


def numpy_project(p):
    p = p.astype(np.float64)
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
    r2 = x * x + y * y
    rad = 1 + r2 * (d[0] + r2 * (d[1] + r2 * d[4]))
    xd = x * rad + 2 * d[2] * x * y + d[3] * (r2 + 2 * x * x)
    yd = y * rad + d[2] * (r2 + 2 * y * y) + 2 * d[3] * x * y
    return np.column_stack([K[0, 0] * xd + K[0, 2], K[1, 1] * yd + K[1, 2]])


def best(f, reps=3):  # f takes no arguments
    t = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        r = f()
        t = min(t, time.perf_counter() - t0)
    return t, r


t_cv, ref = best(lambda: cv2.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, d)[0].reshape(-1, 2))
t_np, mine = best(lambda: numpy_project(pts))
print(f"  {'cv2.projectPoints (OpenCV ' + cv2.__version__ + ', ' + str(cv2.getNumThreads()) + ' threads)':44s} {n / t_cv / 1e6:8.1f} M points/s")
print(f"  {'numpy vectorised (float64)':44s} {n / t_np / 1e6:8.1f} M points/s")
print(f"  max |numpy - cv2| {np.abs(mine - ref).max():.2g} px")
