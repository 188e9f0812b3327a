"""Camera models against OpenCV (Debian python3-opencv): cv2.projectPoints for the pinhole model
with 4, 5, 8, 12 and 14 coefficients, cv2.fisheye.projectPoints for Kannala-Brandt, on random
points and random valid coefficients. Agreement within 1e-3 px wherever our model says the
point is valid (inside the monotonic region); and points we mark invalid must be ones OpenCV
would fold back (outside that region), never in front and well inside it."""
import os
import subprocess
import sys

try:
    import cv2
    import numpy as np
except ImportError as e:
    print(f"SKIP: python3-opencv/numpy missing ({e})")
    sys.exit(77)

TOOL = sys.argv[1]
rng = np.random.default_rng(1234)
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", msg)


def ours(model, W, H, K, dist, pts):
    args = [TOOL, model, str(W), str(H), repr(K[0, 0]), repr(K[1, 1]), repr(K[0, 2]), repr(K[1, 2])]
    args += [repr(float(d)) for d in dist]
    inp = "\n".join(f"{x!r} {y!r} {z!r}" for x, y, z in pts)
    out = subprocess.run(args, input=inp, capture_output=True, text=True, check=True).stdout.split("\n")
    rows = [list(map(float, line.split())) for line in out if line.strip()]
    a = np.array(rows)
    return a[:, 0].astype(bool), a[:, 1:3]


W, H = 1280, 800
for trial in range(30):
    K = np.array([[rng.uniform(400, 1200), 0, rng.uniform(500, 780)],
                  [0, rng.uniform(400, 1200), rng.uniform(300, 500)], [0, 0, 1.0]])
    # points in front of the camera over a wide field of view, plus some behind
    n = 2000
    pts = np.column_stack([rng.uniform(-3, 3, n), rng.uniform(-2, 2, n), rng.uniform(-1, 4, n)])
    for nd in (4, 5, 8, 12, 14):
        d = np.zeros(nd)
        d[0], d[1], d[2], d[3] = rng.uniform(-0.4, 0.2), rng.uniform(-0.1, 0.2), rng.uniform(-3e-3, 3e-3), rng.uniform(-3e-3, 3e-3)
        if nd >= 5:
            d[4] = rng.uniform(-0.05, 0.05)
        if nd >= 8:
            d[5:8] = rng.uniform(-0.1, 0.1, 3)
        if nd >= 12:
            d[8:12] = rng.uniform(-2e-3, 2e-3, 4)
        if nd >= 14:
            d[12:14] = rng.uniform(-0.02, 0.02, 2)
        valid, uv = ours("pinhole", W, H, K, d, pts)
        ref, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, d)
        ref = ref.reshape(-1, 2)
        front = pts[:, 2] > 0
        check(not np.any(valid & ~front), f"trial {trial} n={nd}: point behind the camera marked valid")
        # far outside the image the pixel values reach 1e13: compare there relative to magnitude
        scale = np.maximum(1.0, np.abs(ref).max(axis=1) / 1e6)
        err = (np.abs(uv - ref).max(axis=1) / scale)[valid].max() if valid.any() else 0
        check(err < 1e-3, f"trial {trial} n={nd}: max difference from cv2.projectPoints {err:.3g} px")
        # points well inside the image's field of view must be valid
        r = np.hypot(pts[:, 0] / np.where(front, pts[:, 2], 1), pts[:, 1] / np.where(front, pts[:, 2], 1))
        inner = front & (r < 0.3)
        check(np.all(valid[inner]), f"trial {trial} n={nd}: near-axis points marked invalid")
    # fisheye
    d = np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.02, 0.02), rng.uniform(-0.01, 0.01), rng.uniform(-0.005, 0.005)])
    valid, uv = ours("fisheye", W, H, K, d, pts)
    ref, _ = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, d)
    ref = ref.reshape(-1, 2)
    err = np.abs(uv[valid] - ref[valid]).max() if valid.any() else 0
    check(err < 1e-3, f"trial {trial} fisheye: max difference from cv2.fisheye.projectPoints {err:.3g} px")
    check(not np.any(valid & (pts[:, 2] <= 0)), f"trial {trial} fisheye: point behind marked valid")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
