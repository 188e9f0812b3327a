"""avt_depth_png_write against an independent reader (OpenCV imread, 16-bit unchanged): random
(u, v, depth) samples, the nearest sample per pixel wins, depth x 256 rounded, 0 elsewhere."""
import os
import subprocess
import sys
import tempfile

try:
    import cv2
    import numpy as np
except ImportError as e:
    print(f"SKIP: python3-opencv/numpy missing ({e})")
    sys.exit(77)

tool = sys.argv[1]
rng = np.random.default_rng(5)
W, H, n = 97, 61, 6000
u = rng.uniform(-3, W + 2, n)
v = rng.uniform(-3, H + 2, n)
d = rng.uniform(0.5, 120, n)
d[:50] = -1.0  # not measurements
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "d.png")
    inp = "\n".join(f"{a:.6f} {b:.6f} {c:.6f}" for a, b, c in zip(u, v, d))
    subprocess.run([tool, "depth", out, str(W), str(H)], input=inp, text=True, check=True)
    img = cv2.imread(out, cv2.IMREAD_UNCHANGED)
assert img is not None and img.dtype == np.uint16 and img.shape == (H, W), (None if img is None else (img.dtype, img.shape))
ref = np.zeros((H, W), np.uint16)
best = np.full((H, W), np.inf)
uf, vf, df = u.astype(np.float32), v.astype(np.float32), d.astype(np.float32)
for a, b, c in zip(uf, vf, df):
    iu, iv = int(np.floor(a + 0.5)), int(np.floor(b + 0.5))
    if 0 <= iu < W and 0 <= iv < H and c > 0 and c < best[iv, iu]:
        best[iv, iu] = c
        ref[iv, iu] = max(1, int(np.floor(float(c) * 256 + 0.5)))
bad = int((img != ref).sum())
print(f"{(ref > 0).sum()} pixels with depth, {bad} differ")
sys.exit(1 if bad else 0)
