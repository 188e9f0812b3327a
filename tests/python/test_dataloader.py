#!/usr/bin/python3
"""avtruth Python package (python/avtruth): a real torch DataLoader (2 workers, shuffle, two
epochs) over a per-log file and a stitched index of two synthetic logs sees every frame once
per epoch, and its batches equal, byte for byte, the same frames read here with plain h5py
slicing (FORMAT.md's recipe, no package code). Also: torch-compatible dtypes, collate shapes,
log index / image path / per-log calibration of stitched items, (frame, camera) pairs, the
transforms, and the missing-source error.

Usage: test_dataloader.py WORK_DIR   (AVTRUTH = the CLI). Skips (77) without torch.
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from common import Checker, run  # noqa: E402  (the e2e tests' CLI runner and check counter)
try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e} (Debian python3-h5py, python3-numpy)")
    sys.exit(77)
try:
    import torch
    from torch.utils.data import DataLoader
except ImportError as e:
    print(f"SKIP: torch not importable ({e}); Debian: apt-get install python3-torch")
    sys.exit(77)

import avtruth  # noqa: E402

INT64_MIN = np.iinfo(np.int64).min
checker = Checker()
check = checker.check


# ---- the reference: FORMAT.md's h5py recipe, frame by frame ------------------------------

def reference(path, cams):
    """Every frame of path as {key: array}, read with plain h5py slices; stitched sources are
    opened through the index's virtual datasets like any h5py user would."""
    out = []
    with h5py.File(path, "r") as f:
        po, bo = f["frames/point_offset"][:], f["frames/box_offset"][:]
        for i in range(int(f.attrs["num_frames"])):
            p0, p1, b0, b1 = int(po[i]), int(po[i + 1]), int(bo[i]), int(bo[i + 1])
            inst = f["lidar/instance"][p0:p1].astype(np.int64)
            r = {"xyz": f["lidar/xyz"][p0:p1], "intensity": f["lidar/intensity"][p0:p1],
                 "ring": f["lidar/ring"][p0:p1], "label": f["lidar/label"][p0:p1],
                 "instance": np.where(inst >= 0, inst - b0, -1),
                 "box_center": f["boxes3d/center"][b0:b1], "box_size": f["boxes3d/size"][b0:b1],
                 "box_yaw": f["boxes3d/yaw"][b0:b1], "box_class": f["boxes3d/class_id"][b0:b1],
                 "box_track": f["boxes3d/track_id"][b0:b1]}
            for c in cams:
                g = f[f"cameras/{c}"]
                k0, k1 = g["boxes2d/offset"][i:i + 2]
                d0, d1 = g["depth/offset"][i:i + 2]
                r[c] = {"xyxy": g["boxes2d/xyxy"][k0:k1],
                        "box3d_index": g["boxes2d/box3d_index"][k0:k1].astype(np.int64) - b0,
                        "visibility": g["boxes2d/visibility"][k0:k1],
                        "depth_uv": g["depth/uv"][d0:d1], "depth": g["depth/depth"][d0:d1],
                        "image_file": g["image_path"].asstr()[i],
                        "paired": g["timestamp_ns"][i] != INT64_MIN}
            out.append(r)
    return out


def same_bytes(t, ref, key, torch_dtype):
    """Tensor t holds ref's values in torch_dtype (value-preserving widening only)."""
    a = t.numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return (a.dtype == np.dtype(torch_dtype) and a.shape == ref.shape and
            a.tobytes() == ref.astype(torch_dtype).tobytes())


# the dtype each key must arrive in (torch has no uint16/uint32)
WANT = {"xyz": np.float32, "intensity": np.float32, "ring": np.int32, "label": np.int32,
        "instance": np.int32, "box_center": np.float32, "box_size": np.float32,
        "box_yaw": np.float32, "box_class": np.int32, "box_track": np.int64}
WANT_CAM = {"xyxy": np.float32, "box3d_index": np.int64, "visibility": np.float32,
            "depth_uv": np.float32, "depth": np.float32}
POINTS = ("xyz", "intensity", "ring", "label", "instance")
BOXES = ("box_center", "box_size", "box_yaw", "box_class", "box_track")


def check_batches(name, ds, ref, cams):
    """2 workers, shuffle, two epochs, batches of 3 through avtruth.collate: each frame once per
    epoch and every array equal to the reference after undoing the batch."""
    torch.manual_seed(0)
    loader = DataLoader(ds, batch_size=3, shuffle=True, num_workers=2,
                        collate_fn=avtruth.collate, persistent_workers=True)
    orders = []
    for epoch in range(2):
        seen = []
        for b in loader:
            idx = b["index"].tolist()
            B = len(idx)
            check(isinstance(b, avtruth.Batch) and isinstance(b["cameras"][cams[0]]["xyxy"], torch.Tensor),
                  f"{name}: a Batch of tensors from the workers")
            check(b["points_batch"].dtype == torch.int64 and len(b["points_batch"]) == len(b["xyz"]),
                  f"{name}: points_batch")
            check(tuple(b["box_count"].shape) == (B,) and b["box_center"].shape[:2] ==
                  (B, max(len(ref[i]["box_center"]) for i in idx)), f"{name}: padded boxes")
            for j, i in enumerate(idx):
                sel = (b["points_batch"] == j).numpy()
                for k in POINTS:
                    check(same_bytes(b[k][sel], ref[i][k], k, WANT[k]),
                          f"{name} epoch {epoch} frame {i}: {k}")
                m = int(b["box_count"][j])
                check(m == len(ref[i]["box_center"]), f"{name} frame {i}: box_count {m}")
                for k in BOXES:
                    check(same_bytes(b[k][j, :m], ref[i][k], k, WANT[k]), f"{name} frame {i}: {k}")
                    check(bool(b["box_mask"][j, :m].all()) and not bool(b["box_mask"][j, m:].any()),
                          f"{name} frame {i}: box_mask")
                for c in cams:
                    cb, rc = b["cameras"][c], ref[i][c]
                    k2 = int(cb["box2d_count"][j])
                    for k in ("xyxy", "box3d_index", "visibility"):
                        check(same_bytes(cb[k][j, :k2], rc[k], k, WANT_CAM[k]),
                              f"{name} frame {i} {c}: {k}")
                    dsel = (cb["depth_batch"] == j).numpy()
                    for k in ("depth_uv", "depth"):
                        check(same_bytes(cb[k][dsel], rc[k], k, WANT_CAM[k]),
                              f"{name} frame {i} {c}: {k}")
                    check(cb["image_file"][j] == rc["image_file"] and
                          bool(cb["paired"][j]) == bool(rc["paired"]), f"{name} frame {i} {c}: image")
            seen += idx
        check(sorted(seen) == list(range(len(ref))), f"{name} epoch {epoch}: every frame once "
              f"({len(seen)} items, {len(set(seen))} distinct of {len(ref)})")
        orders.append(seen)
    check(orders[0] != orders[1] and orders[0] != sorted(orders[0]), f"{name}: shuffled per epoch")


def check_default_collate(name, ds):
    """Torch's own collate (batch_size None and 1) converts every item: no uint16 left."""
    for bs in (None, 1):
        b = next(iter(DataLoader(ds, batch_size=bs, shuffle=False, num_workers=0)))
        for k, want in WANT.items():
            check(b[k].dtype == torch.from_numpy(np.zeros(1, want)).dtype,
                  f"{name} batch_size={bs}: {k} dtype {b[k].dtype}")


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    logs = [os.path.join(work, n) for n in ("alpha", "bravo")]
    for s, d in enumerate(logs):
        run("synth", d, "--seed", 11 + s, "--seconds", 0.6, "--cameras", 2, "--width", 320,
            "--height", 200)
    out = os.path.join(work, "out")
    run("batch", *logs, "-o", out)
    index = os.path.join(out, "dataset.h5")
    run("stitch", out, "-o", index)
    per_log = os.path.join(out, "alpha.h5")
    with h5py.File(index) as f:
        cams = sorted(f["cameras"].keys())
        fo = f["logs/frame_offset"][:].astype(np.int64)
        files = list(f["logs/file"].asstr()[:])
    check(len(cams) == 2 and len(fo) == 3, f"stitched: cameras {cams}, frame_offset {fo}")

    for name, path in (("per-log", per_log), ("stitched", index)):
        ds = avtruth.Dataset(path)
        ref = reference(path, cams)
        check(len(ds) == len(ref) > 3, f"{name}: len {len(ds)} vs {len(ref)} frames")
        check_batches(name, ds, ref, cams)
        check(ds._r is None, f"{name}: no HDF5 handle in the main process (workers open their own)")
        # single process: the same values, dtypes as documented
        for i in (0, len(ref) - 1):
            it = ds[i]
            for k, want in WANT.items():
                check(it[k].dtype == want and same_bytes(it[k], ref[i][k], k, want),
                      f"{name} frame {i}: single-process {k} ({it[k].dtype})")
        # those reads came from the stored chunks (libdeflate), the stitched index's virtual
        # columns through their sources: h5py read none of them
        r = ds._reader()
        cols = [c for _, c in r.pcols + r.bcols]
        cols += [c for cam in r.cams.values() for _, c in cam["b2"]]
        cols += [col for cam in r.cams.values() for col in (cam["uv"], cam["depth"])]
        if avtruth._chunks.available():
            check(all((c.filters is not None or c.parts is not None) and c.by_h5py == 0
                      for c in cols), f"{name}: every column read from its chunks")
            check(name != "stitched" or sum(c.parts is not None for c in cols) >= 5,
                  f"{name}: virtual columns followed to their sources")
        ds.close()
        check_default_collate(name, ds)

    # stitched items: their log, image path and that log's calibration
    ds = avtruth.Dataset(index)
    for g in (0, int(fo[1]) - 1, int(fo[1]), len(ds) - 1):
        it = ds[g]
        k = 0 if g < fo[1] else 1
        src = os.path.join(out, files[k])
        check(int(it["log_index"]) == k and int(it["frame_in_log"]) == g - fo[k] and
              it["log_id"] == os.path.basename(logs[k]), f"stitched frame {g}: log {it['log_index']}")
        with h5py.File(src) as s:
            for c in cams:
                cam, rel = it["cameras"][c], s[f"cameras/{c}/image_path"].asstr()[g - fo[k]]
                want_path = os.path.join(logs[k], rel) if rel else ""
                check(os.path.samefile(cam["image_path"], want_path) if rel else cam["image_path"] == "",
                      f"stitched frame {g} {c}: image_path {cam['image_path']} vs {want_path}")
                for key in ("K", "distortion", "lidar_T_cam"):
                    check(np.array_equal(cam[key], s[f"cameras/{c}/{key}"][()]),
                          f"stitched frame {g} {c}: {key} of log {k}")
            check(np.array_equal(it["lidar_T_ego"], s["calibration/lidar_T_ego"][()]),
                  f"stitched frame {g}: lidar_T_ego")

    # (frame, camera) pairs: one item per paired image
    pairs = avtruth.Dataset(index, pairs=True)
    with h5py.File(index) as f:
        want = sorted((i, c) for c in cams
                      for i in np.flatnonzero(f[f"cameras/{c}/timestamp_ns"][:] != INT64_MIN))
    got = sorted((int(pairs[j]["index"]), pairs[j]["camera"]["name"]) for j in range(len(pairs)))
    check(got == want, f"pairs: {len(got)} items, {len(want)} paired images")

    # images decoded by OpenCV equal the PNG file read independently (cv2 here too, if present)
    try:
        import cv2
        it = avtruth.Dataset(per_log, images=True)[1]
        cam = it["cameras"][cams[0]]
        ref_img = cv2.cvtColor(cv2.imread(cam["image_path"]), cv2.COLOR_BGR2RGB)
        check(cam["paired"] and np.array_equal(cam["image"], ref_img), "images=True: RGB image")
    except ImportError:
        print("cv2 missing (python3-opencv): the image check is skipped")

    # transforms: CropRange against numpy's norm, PointsInCamera inverted back
    r = 20.0
    full = ds[2]
    it = avtruth.Dataset(index, transform=[avtruth.CropRange(r), avtruth.PointsInCamera()])[2]
    keep = np.sqrt((full["xyz"].astype(np.float64) ** 2).sum(1)) <= r
    check(np.array_equal(it["xyz"], full["xyz"][keep]), f"CropRange: {len(it['xyz'])} points")
    inst = it["instance"]
    check(((inst == -1) | ((inst >= 0) & (inst < len(it["box_center"])))).all() and
          np.array_equal(it["box_class"][inst[inst >= 0]], it["label"][inst >= 0]),
          "CropRange: instances renumbered onto the kept boxes (label = class of the box)")
    for c in cams:
        cam = it["cameras"][c]
        back = np.c_[cam["xyz_cam"].astype(np.float64), np.ones(len(cam["xyz_cam"]))] @ cam["lidar_T_cam"].T
        check(np.allclose(back[:, :3], it["xyz"], atol=1e-4), f"PointsInCamera {c}: lidar_T_cam · p_cam = p")
        check(len(cam["box3d_index"]) == 0 or cam["box3d_index"].max() < len(it["box_center"]),
              f"CropRange {c}: box3d_index within the kept boxes")

    # a stitched index with a source missing names it (a VDS would read zeros)
    moved = os.path.join(work, "moved")
    shutil.copytree(out, moved)
    os.remove(os.path.join(moved, files[1]))
    try:
        avtruth.Dataset(os.path.join(moved, "dataset.h5"))
        check(False, "missing source: no error")
    except avtruth.SourceMissing as e:
        check(files[1] in str(e) and "bravo" in str(e), f"missing source: message {e}")
    # ... and one replaced by a file that is not an avtruth file of that log's length
    with open(os.path.join(moved, files[1]), "wb") as fh:
        fh.write(b"not HDF5")
    try:
        avtruth.Dataset(os.path.join(moved, "dataset.h5"))
        check(False, "replaced source: no error")
    except ValueError as e:
        check(files[1] in str(e) and "not an avtruth file" in str(e), f"replaced source: message {e}")
    shutil.copy(os.path.join(out, files[1]), os.path.join(moved, files[1]))
    with h5py.File(os.path.join(moved, files[1]), "r+") as f:  # a rebuilt log, one frame more
        f.attrs["num_frames"] = np.uint64(fo[2] - fo[1] + 1)
    try:
        avtruth.Dataset(os.path.join(moved, "dataset.h5"))
        check(False, "source of another length: no error")
    except ValueError as e:
        check(f"has {fo[2] - fo[1] + 1} frames, the index expects {fo[2] - fo[1]}" in str(e),
              f"source of another length: {e}")
    checker.finish()


if __name__ == "__main__":
    main()
