"""End-to-end: synthesize a log with strong distortion, build it, and check the HDF5 file with
h5py against the generator's independent truth (truth/*.csv) and against FORMAT.md's layout.

Truth 2D boxes come from ray casting each object alone (its amodal silhouette): the extreme pixel
centres covered, and the same extremes refined to 1/16 px (a thin corner of a silhouette can fall
between pixel centres, so pixel extremes alone can sit more than a pixel inside the true extent).
For an object fully inside the image the projected box must contain every covered pixel centre and
match the refined extent within 1 px (issue 2's criterion; we also require 0.25 px)."""
import csv
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need('h5py', 'numpy')

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
out = os.path.join(d, "out.h5")
run("synth", log, "--seed", 11, "--seconds", 2, "--cameras", 3)
run("build", log, "-o", out)
c.check(os.path.exists(out) and not os.path.exists(out + ".partial"), "output renamed from .partial")


def read_csv(name):
    with open(os.path.join(log, "truth", name), newline="") as f:
        return list(csv.DictReader(row for row in f if not row.startswith("#")))


sweeps = read_csv("sweeps.csv")
images = read_csv("images.csv")
truth2d = read_csv("boxes2d.csv")

with h5py.File(out, "r") as f:
    # ---- layout of FORMAT.md ----
    c.check(f.attrs["format"] == "avtruth-gt", "root attr format")
    c.check(f.attrs["format_version"] == "1.0", "root attr format_version")
    F = int(f.attrs["num_frames"])
    c.check(F == len(f["frames/timestamp_ns"]), "num_frames matches /frames")
    expect = {
        "frames/timestamp_ns": ("int64", (F,)), "frames/start_ns": ("int64", (F,)),
        "frames/end_ns": ("int64", (F,)), "frames/ego_pose": ("float64", (F, 4, 4)),
        "frames/point_offset": ("uint64", (F + 1,)), "frames/box_offset": ("uint64", (F + 1,)),
        "frames/packets": ("uint32", (F,)), "frames/packets_lost": ("uint32", (F,)),
    }
    N = int(f["frames/point_offset"][-1])
    M = int(f["frames/box_offset"][-1])
    expect.update({
        "lidar/xyz": ("float32", (N, 3)), "lidar/intensity": ("float32", (N,)),
        "lidar/ring": ("uint16", (N,)), "lidar/time_ns": ("int32", (N,)),
        "lidar/return_type": ("uint8", (N,)), "lidar/label": ("uint16", (N,)),
        "lidar/instance": ("int32", (N,)),
        "boxes3d/center": ("float32", (M, 3)), "boxes3d/size": ("float32", (M, 3)),
        "boxes3d/yaw": ("float32", (M,)), "boxes3d/rotation": ("float32", (M, 4)),
        "boxes3d/velocity": ("float32", (M, 3)), "boxes3d/class_id": ("uint16", (M,)),
        "boxes3d/track_id": ("int64", (M,)), "boxes3d/num_lidar_points": ("uint32", (M,)),
        "boxes3d/frame_index": ("uint32", (M,)),
        "calibration/lidar_T_ego": ("float64", (4, 4)),
    })
    for name, (dt, shape) in expect.items():
        ok = name in f and f[name].dtype == np.dtype(dt) and f[name].shape == shape
        c.check(ok, f"{name}: expected {dt}{shape}, got "
                    f"{(f[name].dtype, f[name].shape) if name in f else 'missing'}")
    for off, n in (("frames/point_offset", N), ("frames/box_offset", M)):
        o = f[off][:]
        c.check(o[0] == 0 and np.all(np.diff(o.astype(np.int64)) >= 0) and o[-1] == n, f"{off} is a CSR offset array")
    c.check(N > 10000, f"points decoded ({N})")
    c.check("provenance" in f and len(f["provenance/inputs/sha256"]) >= 3, "provenance inputs recorded")
    # every input's digest and size against hashlib (the build hashes images and the log's files
    # ahead, on other threads): all of them, each camera's images and the capture included
    paths = f["provenance/inputs/path"].asstr()[:]
    shas = f["provenance/inputs/sha256"].asstr()[:]
    sizes = f["provenance/inputs/size_bytes"][:]
    bad = []
    for p, h, n in zip(paths, shas, sizes):
        with open(os.path.join(log, p), "rb") as fi:
            data = fi.read()
        if hashlib.sha256(data).hexdigest() != h or len(data) != n:
            bad.append(p)
    c.check(not bad, f"provenance digests match hashlib for all {len(paths)} inputs; wrong: {bad[:3]}")
    c.check(sum(p.startswith("cameras/") for p in paths) == len(images) and any(p.endswith(".pcap") for p in paths),
            f"provenance lists the {len(images)} paired images and the capture")
    # the revision the tool was built from, found at build time (not when cmake configured)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    try:
        head = subprocess.run(["git", "-C", src, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = None
    sha = f["provenance"].attrs["git_sha"]
    sha = sha.decode() if isinstance(sha, bytes) else str(sha)
    if head:
        c.check(sha in (head, head + "-dirty"), f"provenance git_sha {sha!r} is HEAD {head}")
    else:
        print(f"not a git checkout: git_sha {sha!r} not compared")

    # ---- sweeps against the generator's exact boundaries ----
    c.check(F == len(sweeps), f"{F} frames, truth has {len(sweeps)} sweeps")
    ts = f["frames/timestamp_ns"][:]
    st = f["frames/start_ns"][:]
    en = f["frames/end_ns"][:]
    for i, s in enumerate(sweeps[:F]):
        c.check(abs(int(st[i]) - int(s["start_ns"])) <= 1000 and abs(int(en[i]) - int(s["end_ns"])) <= 1000,
                f"sweep {i} bounds {st[i]}..{en[i]} vs truth {s['start_ns']}..{s['end_ns']}")
        if s["complete"] == "1":
            c.check(abs(int(ts[i]) - int(s["timestamp_ns"])) <= 1000,
                    f"sweep {i} reference time {ts[i]} vs truth {s['timestamp_ns']}")

    # ---- labels in the file equal labels/*.json; points inside their boxes ----
    box_off = f["frames/box_offset"][:]
    track = f["boxes3d/track_id"][:]
    inst = f["lidar/instance"][:]
    c.check(M > 0 and inst.max() >= 0, "some points labelled with a box")

    # ---- pairing: every image paired with the sweep that triggered it ----
    by_file = {(r["camera"], r["file"]): r for r in images}
    cams = list(f["cameras"].keys())
    c.check(len(cams) == 3, f"3 cameras, got {cams}")
    n_cmp = 0
    worst = 0.0
    truth_by = {}
    for r in truth2d:
        truth_by[(r["camera"], r["file"], int(r["track_id"]))] = r
    for cam in cams:
        g = f["cameras"][cam]
        paths = [p.decode() if isinstance(p, bytes) else p for p in g["image_path"][:]]
        boff = g["boxes2d/offset"][:]
        xyxy = g["boxes2d/xyxy"][:]
        b3 = g["boxes2d/box3d_index"][:]
        c.check(boff[0] == 0 and boff[-1] == len(xyxy), f"{cam}: boxes2d offsets")
        for i in range(F):
            if not paths[i]:
                continue
            fname = os.path.basename(paths[i])  # truth/*.csv name files without directory
            tr = by_file.get((cam, fname))
            c.check(tr is not None and int(tr["sweep"]) == i,
                    f"{cam} frame {i}: paired {fname}, generator triggered it from sweep "
                    f"{tr['sweep'] if tr else '?'}")
            seen = set()
            for k in range(boff[i], boff[i + 1]):
                j = int(b3[k])
                c.check(box_off[i] <= j < box_off[i + 1], f"{cam} frame {i}: box3d_index {j} inside the frame")
                tid = int(track[j])
                seen.add(tid)
                t = truth_by.get((cam, fname, tid))
                w = xyxy[k][2] - xyxy[k][0]
                h = xyxy[k][3] - xyxy[k][1]
                if t is None:
                    # a sliver thinner than a pixel may cover no pixel centre
                    c.check(min(w, h) < 1.5, f"{cam} {fname} track {tid}: projected {xyxy[k]} but the object "
                                             f"covers no pixel in the generator's rendering")
                    continue
                if t["touches_border"] == "0" and t["behind"] == "0":
                    # every pixel centre the silhouette covers lies inside our box ...
                    px = np.array([float(t["umin"]), float(t["vmin"]), float(t["umax"]), float(t["vmax"])])
                    inside = xyxy[k][0] <= px[0] + 1e-3 and xyxy[k][1] <= px[1] + 1e-3 and \
                        xyxy[k][2] >= px[2] - 1e-3 and xyxy[k][3] >= px[3] - 1e-3
                    c.check(inside, f"{cam} {fname} track {tid}: 2D box {xyxy[k]} misses covered pixels {px}")
                    # ... and matches the silhouette's extent (refined to 1/16 px) within 1 px;
                    # the projection is exact, so we also hold it to a quarter pixel
                    tb = np.array([float(t["x0"]), float(t["y0"]), float(t["x1"]), float(t["y1"])])
                    err = np.abs(xyxy[k] - tb).max()
                    worst = max(worst, err)
                    n_cmp += 1
                    c.check(err <= 1.0, f"{cam} {fname} track {tid}: 2D box {xyxy[k]} vs silhouette {tb} "
                                        f"(error {err:.2f} px > 1 px)")
                    c.check(err <= 0.25, f"{cam} {fname} track {tid}: 2D box {xyxy[k]} vs silhouette {tb} "
                                         f"(error {err:.2f} px > 0.25 px)")
            for (tc, tf, tid), t in truth_by.items():
                if tc == cam and tf == fname and tid not in seen:
                    big = (float(t["umax"]) - float(t["umin"]) >= 2) and (float(t["vmax"]) - float(t["vmin"]) >= 2)
                    c.check(not big, f"{cam} {fname} track {tid}: silhouette {t['umin']},{t['vmin']},{t['umax']},"
                                     f"{t['vmax']} but no projected box")
    c.check(n_cmp >= 10, f"compared {n_cmp} fully-visible boxes with the silhouettes")
    print(f"compared {n_cmp} boxes, worst error {worst:.3f} px")
# every sync policy pairs each image with the sweep that triggered it on this log
for policy in ("nearest", "approximate"):
    out_p = os.path.join(d, f"out_{policy}.h5")
    run("build", log, "-o", out_p, "--sync", policy)
    with h5py.File(out_p, "r") as f:
        n_ok = n_all = 0
        for cam in f["cameras"]:
            paths = [p.decode() if isinstance(p, bytes) else p for p in f["cameras"][cam]["image_path"][:]]
            for i, p in enumerate(paths):
                if not p:
                    continue
                tr = by_file.get((cam, os.path.basename(p)))
                n_all += 1
                n_ok += tr is not None and int(tr["sweep"]) == i
        c.check(n_all >= 3 * (F - 2) and n_ok == n_all,
                f"--sync {policy}: {n_ok} of {n_all} images paired with their triggering sweep")
c.finish()
