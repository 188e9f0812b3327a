"""Box inclusion policies (--box-visibility any|all|none, like nuScenes' BoxVisibility) and the
KITTI depth-completion PNGs (--depth-png), read back with independent readers (h5py, OpenCV).
  all:  every 8 projected corners inside the image;  all <= any <= none (as sets of boxes);
  none: boxes with nothing inside the image carry NaN boxes;
  depth PNGs: uint16, depth x 256 at the pixel nearest each sample, nearest sample wins."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

cv2, h5py, np = need('cv2', 'h5py', 'numpy')

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", 21, "--seconds", 1.0, "--cameras", 3, "--width", 320, "--height", 200)
sets = {}
for pol in ("any", "all", "none"):
    out = os.path.join(d, f"{pol}.h5")
    args = ["build", log, "-o", out, "--box-visibility", pol]
    if pol == "any":
        args += ["--depth-png", os.path.join(d, "depth")]
    run(*args)
    with h5py.File(out, "r") as f:
        s = set()
        for cam in f["cameras"]:
            g = f["cameras"][cam]["boxes2d"]
            off = g["offset"][:]
            b3 = g["box3d_index"][:]
            xy = g["xyxy"][:]
            corners = g["corners"][:]
            for i in range(len(off) - 1):
                for k in range(off[i], off[i + 1]):
                    s.add((cam, i, int(b3[k])))
                    if pol == "all":
                        cc = corners[k]
                        ok = np.all(np.isfinite(cc)) and cc[:, 0].min() >= 0 and cc[:, 1].min() >= 0 and \
                            cc[:, 0].max() <= 319 and cc[:, 1].max() <= 199
                        c.check(ok, f"all: {cam} frame {i} box {b3[k]} has a corner outside the image")
                    if pol == "any":
                        c.check(np.all(np.isfinite(xy[k])), f"any: {cam} frame {i} box {b3[k]} without a 2D box")
        sets[pol] = s
        if pol == "none":
            c.check(np.isnan(f["cameras/front/boxes2d/xyxy"][:]).any(), "none: some boxes outside the image kept")
        if pol == "any":
            # depth PNGs against the depth samples in the file
            g = f["cameras/front"]
            paths = g["image_path"][:]
            off = g["depth/offset"][:]
            uv = g["depth/uv"][:]
            dep = g["depth/depth"][:]
            n_checked = 0
            for i in range(len(paths)):
                if not paths[i]:
                    continue
                png = os.path.join(d, "depth", "front", f"{i:06d}.png")
                img = cv2.imread(png, cv2.IMREAD_UNCHANGED)
                c.check(img is not None and img.dtype == np.uint16 and img.shape == (200, 320), f"{png} is uint16 320x200")
                if img is None:
                    continue
                ref = np.zeros((200, 320), np.float64)
                ref[:] = np.inf
                u = np.rint(uv[off[i]:off[i + 1], 0]).astype(int)
                v = np.rint(uv[off[i]:off[i + 1], 1]).astype(int)
                z = dep[off[i]:off[i + 1]]
                keep = (u >= 0) & (u < 320) & (v >= 0) & (v < 200) & (z > 0) & (z < 255.99)
                np.minimum.at(ref, (v[keep], u[keep]), z[keep])
                want = np.where(np.isfinite(ref), np.rint(ref * 256), 0)
                c.check(np.abs(img.astype(np.float64) - want).max() <= 1, f"{png}: differs from the file's samples")
                n_checked += 1
            c.check(n_checked >= 5, f"{n_checked} depth PNGs checked")
c.check(sets["all"] <= sets["any"] <= sets["none"], "all <= any <= none")
c.check(len(sets["all"]) < len(sets["any"]) < len(sets["none"]), "the policies differ on this log")
c.finish()
