#!/usr/bin/python3
"""avtruth export test: runs the C fixture writer, then checks the files with h5py against
FORMAT.md and against the fixture's formulas, recomputed here independently of the C code
(tests/export/fixture.c states the same formulas; keep the two in step).

Usage: check_fixture.py EXPORT_FIXTURE_BINARY OUT_DIR
"""
import hashlib
import math
import os
import shutil
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # Debian python3-h5py / python3-numpy missing
    print(f"SKIP: {e}")
    sys.exit(77)

F = 5
NP = [7, 0, 70000, 3, 5]
NB = [2, 0, 3, 1, 4]
T0 = 1700000000000000000
CLASSES = ["none", "car", "pedestrian", "cyclist"]
CAMS = ["front", "left"]
UNPAIRED = {(1, 2)}  # (camera, frame)
# chunk rows of docs/format-notes.md ("Chunk rows"): per point and depth sample, per table row
POINT_CHUNK, TABLE_CHUNK = 16384, 4096

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def f32(x):
    return np.float32(x)


# ---- expected content, from the formulas ------------------------------------------------

def expected():
    e = {}
    ts = np.array([T0 + i * 100_000_000 for i in range(F)], np.int64)
    e["frames/timestamp_ns"] = ts
    e["frames/start_ns"] = ts - 50_000_000 + np.arange(F)
    e["frames/end_ns"] = ts + 49_000_000 - np.arange(F)
    pose = np.tile(np.eye(4), (F, 1, 1))
    pose[:, 0, 3] = np.arange(F)
    pose[:, 1, 3] = 2.0 * np.arange(F)
    pose[:, 2, 3] = 0.5
    e["frames/ego_pose"] = pose
    e["frames/packets"] = (100 + np.arange(F)).astype(np.uint32)
    e["frames/packets_lost"] = (np.arange(F) % 2).astype(np.uint32)
    e["frames/point_offset"] = np.concatenate([[0], np.cumsum(NP)]).astype(np.uint64)
    e["frames/box_offset"] = np.concatenate([[0], np.cumsum(NB)]).astype(np.uint64)

    # boxes first: point labels refer to them
    rows = []
    for i in range(F):
        for k in range(NB[i]):
            rows.append((i, k))
    M = len(rows)
    m = np.arange(M)
    k = np.array([r[1] for r in rows])
    fi = np.array([r[0] for r in rows])
    e["boxes3d/center"] = np.stack([m, k, fi * 0.5], 1).astype(np.float32)
    e["boxes3d/size"] = np.stack([4 + k, np.full(M, 2.0), np.full(M, 1.5)], 1).astype(np.float32)
    e["boxes3d/yaw"] = (0.1 * m).astype(np.float32)
    rot = np.zeros((M, 4))
    rot[:, 0] = 1
    rot[:, 3] = 0.01 * k
    e["boxes3d/rotation"] = rot.astype(np.float32)
    vel = np.tile([1.5, -0.5, 0.0], (M, 1))
    vel[m % 2 == 0] = np.nan
    e["boxes3d/velocity"] = vel.astype(np.float32)
    cls = (1 + m % 3).astype(np.uint16)
    e["boxes3d/class_id"] = cls
    e["boxes3d/track_id"] = ((1 << 40) + k).astype(np.int64)
    e["boxes3d/attributes"] = (m & 3).astype(np.uint32)
    e["boxes3d/frame_index"] = fi.astype(np.uint32)

    cols = {n: [] for n in ["xyz", "intensity", "ring", "time_ns", "return_type", "label", "instance"]}
    npts = np.zeros(M, np.uint32)
    base = 0
    for i in range(F):
        j = np.arange(NP[i])
        cols["xyz"].append(np.stack([i + 0.5 * j, -0.25 * j, 0.125 * (j % 7)], 1).astype(np.float32).reshape(-1, 3))
        cols["intensity"].append((j % 256).astype(np.float32))
        cols["ring"].append((j % 32).astype(np.uint16))
        cols["time_ns"].append((j * 10 - 35000).astype(np.int32))
        cols["return_type"].append((j % 4).astype(np.uint8))
        local = (j % (NB[i] + 1)) - 1 if NB[i] else np.full(NP[i], -1)
        glob = np.where(local >= 0, local + base, -1)
        cols["instance"].append(glob.astype(np.int32))
        cols["label"].append(np.where(glob >= 0, cls[np.maximum(glob, 0)] if M else 0, 0).astype(np.uint16))
        for g in glob[glob >= 0]:
            npts[g] += 1
        base += NB[i]
    for n, parts in cols.items():
        e["lidar/" + n] = np.concatenate(parts)
    e["boxes3d/num_lidar_points"] = npts

    box_base = np.concatenate([[0], np.cumsum(NB)])
    for c, name in enumerate(CAMS):
        p = f"cameras/{name}/"
        cts, delta, paths = [], [], []
        b2 = {n: [] for n in ["box3d_index", "xyxy", "truncation", "visibility", "corners", "num_lidar_points"]}
        uv, dep, b2off, doff = [], [], [0], [0]
        for i in range(F):
            if (c, i) in UNPAIRED:
                cts.append(-(2 ** 63))
                delta.append(0)
                paths.append("")
                b2off.append(b2off[-1])
                doff.append(doff[-1])
                continue
            cts.append(int(ts[i]) + 1000 * (c + 1) + i)
            delta.append(1000 * (c + 1) + i)
            paths.append(f"{name}/{i:06d}.png")
            n2 = 0
            for kk in range(NB[i]):
                if (kk + c) % 2:
                    continue
                n2 += 1
                b2["box3d_index"].append(box_base[i] + kk)
                b2["xyxy"].append([10 * kk, 20 * c, 10 * kk + 5, 20 * c + 8])
                b2["truncation"].append(f32(0.1 * kk))
                b2["visibility"].append(f32(1.0 - 0.1 * kk))
                corners = [math.nan if (c == 1 and q >= 14) else q * 0.5 + kk for q in range(16)]
                b2["corners"].append(np.array(corners).reshape(8, 2))
                b2["num_lidar_points"].append(kk + c)
            b2off.append(b2off[-1] + n2)
            nd = (NP[i] + c) % 6
            for jj in range(nd):
                uv.append([jj, jj + c])
                dep.append(1.0 + 0.5 * jj)
            doff.append(doff[-1] + nd)
        e[p + "timestamp_ns"] = np.array(cts, np.int64)
        e[p + "sync_delta_ns"] = np.array(delta, np.int64)
        e[p + "image_path"] = paths
        e[p + "boxes2d/offset"] = np.array(b2off, np.uint64)
        e[p + "boxes2d/box3d_index"] = np.array(b2["box3d_index"], np.uint32)
        e[p + "boxes2d/xyxy"] = np.array(b2["xyxy"], np.float32).reshape(-1, 4)
        e[p + "boxes2d/truncation"] = np.array(b2["truncation"], np.float32)
        e[p + "boxes2d/visibility"] = np.array(b2["visibility"], np.float32)
        e[p + "boxes2d/corners"] = np.array(b2["corners"], np.float32).reshape(-1, 8, 2)
        e[p + "boxes2d/num_lidar_points"] = np.array(b2["num_lidar_points"], np.uint32)
        e[p + "depth/offset"] = np.array(doff, np.uint64)
        e[p + "depth/uv"] = np.array(uv, np.float32).reshape(-1, 2)
        e[p + "depth/depth"] = np.array(dep, np.float32)
        # the fixture labels no ignore regions: empty columns, offsets all 0
        e[p + "ignore/offset"] = np.zeros(len(doff), np.uint64)
        e[p + "ignore/xyxy"] = np.zeros((0, 4), np.float32)
        e[p + "ignore/class_id"] = np.zeros(0, np.uint16)
    return e


# dataset -> (dtype, trailing shape, chunk rows)
def layout():
    P, T = POINT_CHUNK, TABLE_CHUNK
    lay = {
        "frames/timestamp_ns": ("<i8", (), T), "frames/start_ns": ("<i8", (), T),
        "frames/end_ns": ("<i8", (), T), "frames/ego_pose": ("<f8", (4, 4), T),
        "frames/point_offset": ("<u8", (), T), "frames/box_offset": ("<u8", (), T),
        "frames/packets": ("<u4", (), T), "frames/packets_lost": ("<u4", (), T),
        "lidar/xyz": ("<f4", (3,), P), "lidar/intensity": ("<f4", (), P),
        "lidar/ring": ("<u2", (), P), "lidar/time_ns": ("<i4", (), P),
        "lidar/return_type": ("|u1", (), P), "lidar/label": ("<u2", (), P),
        "lidar/instance": ("<i4", (), P),
        "boxes3d/center": ("<f4", (3,), T), "boxes3d/size": ("<f4", (3,), T),
        "boxes3d/yaw": ("<f4", (), T), "boxes3d/rotation": ("<f4", (4,), T),
        "boxes3d/velocity": ("<f4", (3,), T), "boxes3d/class_id": ("<u2", (), T),
        "boxes3d/track_id": ("<i8", (), T), "boxes3d/num_lidar_points": ("<u4", (), T),
        "boxes3d/attributes": ("<u4", (), T), "boxes3d/frame_index": ("<u4", (), T),
    }
    for name in CAMS:
        p = f"cameras/{name}/"
        lay.update({
            p + "timestamp_ns": ("<i8", (), T), p + "sync_delta_ns": ("<i8", (), T),
            p + "image_path": ("str", (), T), p + "boxes2d/offset": ("<u8", (), T),
            p + "boxes2d/box3d_index": ("<u4", (), T), p + "boxes2d/xyxy": ("<f4", (4,), T),
            p + "boxes2d/truncation": ("<f4", (), T), p + "boxes2d/visibility": ("<f4", (), T),
            p + "boxes2d/corners": ("<f4", (8, 2), T), p + "boxes2d/num_lidar_points": ("<u4", (), T),
            p + "depth/offset": ("<u8", (), T), p + "depth/uv": ("<f4", (2,), P),
            p + "depth/depth": ("<f4", (), P),
            p + "ignore/offset": ("<u8", (), T), p + "ignore/xyxy": ("<f4", (4,), T),
            p + "ignore/class_id": ("<u2", (), T),
        })
    return lay


FIXED = {  # contiguous datasets written once: dtype, shape
    "cameras/front/K": ("<f8", (3, 3)), "cameras/front/distortion": ("<f8", (5,)),
    "cameras/front/lidar_T_cam": ("<f8", (4, 4)), "cameras/left/K": ("<f8", (3, 3)),
    "cameras/left/distortion": ("<f8", (4,)), "cameras/left/lidar_T_cam": ("<f8", (4, 4)),
    "calibration/lidar_T_ego": ("<f8", (4, 4)), "calibration/source": ("str", ()),
    "meta/class_names": ("str", (4,)), "meta/attribute_names": ("str", (2,)),
    "meta/schema": ("str", ()), "dataset_card": ("str", ()),
    "provenance/inputs/path": ("str", (None,)), "provenance/inputs/sha256": ("str", (None,)),
    "provenance/inputs/size_bytes": ("<u8", (None,)),
}
# /sync/cameras: the per-camera sync summary as a table of (C,) columns
SYNC_COLUMNS = {"camera": "str", "policy": "str", "frames_paired": "<u8", "frames_unpaired": "<u8",
                "tolerance_ns": "<i8", "clock_offset_ns": "<i8", "clock_drift_ppm": "<f8",
                "paired": "<u8", "unpaired_frames": "<u8", "unpaired_images": "<u8",
                "duplicates": "<u8", "dropped": "<u8", "delta_min_ns": "<i8",
                "delta_median_ns": "<i8", "delta_p95_ns": "<i8", "delta_max_ns": "<i8",
                "clock_offset_sd_ns": "<f8", "clock_drift_sd_ppm": "<f8", "clock_corrected": "|u1",
                "clock_t_ref_ns": "<i8", "jitter_ns": "<f8", "bad_times": "<u8"}
FIXED.update({f"sync/cameras/{k}": (dt, (2,)) for k, dt in SYNC_COLUMNS.items()})
# /meta/validation: label validation findings, one row each (docs/schema.md); none here
FIXED.update({f"meta/validation/{k}": ("str", (None,))
              for k in ("severity", "rule", "file", "path", "value", "message")})


def is_utf8_str(dt):
    info = h5py.check_string_dtype(dt)
    return info is not None and info.encoding == "utf-8" and info.length is None


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def check_file(path, gzip, with_inputs, out_dir):
    exp = expected()
    lay = layout()
    with open(path, "rb") as fh:
        sb = fh.read(9)
    check(sb[:8] == b"\x89HDF\r\n\x1a\n", f"{path}: HDF5 signature")
    check(sb[8] <= 3, f"{path}: superblock version {sb[8]} readable by HDF5 1.10 (<= 3)")
    with h5py.File(path, "r") as f:
        seen = set()
        f.visititems(lambda n, o: seen.add(n) if isinstance(o, h5py.Dataset) else None)
        want = set(lay) | set(FIXED)
        check(seen == want, f"{path}: dataset set: extra {sorted(seen - want)}, missing {sorted(want - seen)}")

        # root attributes
        a = f.attrs
        strs = {"format": "avtruth-gt", "format_version": "1.0", "log_id": "drive-ünïcode-01",
                "length_unit": "m", "angle_unit": "rad", "time_unit": "ns",
                "compression": "gzip" if gzip else "none"}
        for k, v in strs.items():
            check(isinstance(a.get(k), str) and a.get(k) == v, f"{path}: attr {k} = {a.get(k)!r}, want {v!r}")
            check(is_utf8_str(a.get_id(k).dtype), f"{path}: attr {k} is a variable-length UTF-8 string")
        check(a["num_frames"] == F and a["num_frames"].dtype == np.uint64, f"{path}: num_frames")
        check(a["num_cameras"] == 2 and a["num_cameras"].dtype == np.uint64, f"{path}: num_cameras")
        check(isinstance(a["created_utc"], str) and a["created_utc"].endswith("Z"), f"{path}: created_utc")

        # extendible columns: dtype, shape, chunks, filters, values
        for name, (dt, trail, chunk) in lay.items():
            d = f[name]
            if dt == "str":
                check(is_utf8_str(d.dtype), f"{name}: variable-length UTF-8 string")
            else:
                check(d.dtype.str == dt, f"{name}: dtype {d.dtype.str}, want {dt}")
            check(d.maxshape == (None,) + trail, f"{name}: maxshape {d.maxshape}")
            check(d.chunks == (chunk,) + trail, f"{name}: chunks {d.chunks}")
            if gzip:
                check(d.compression == "gzip" and d.compression_opts == 1 and d.shuffle,
                      f"{name}: filters gzip 1 + shuffle ({d.compression}, {d.compression_opts}, {d.shuffle})")
            else:
                check(d.compression is None and not d.shuffle, f"{name}: no filter")
            if dt == "str":
                got = list(d.asstr()[:])
                check(got == exp[name], f"{name}: values {got} != {exp[name]}")
            else:
                got = d[:]
                check(same(got, exp[name]), f"{name}: values differ from the formula")

        # CSR offsets: (F+1,), start at 0, non-decreasing, end at the column length
        csr = [("frames/point_offset", "lidar/xyz"), ("frames/box_offset", "boxes3d/class_id")]
        for name in CAMS:
            csr += [(f"cameras/{name}/boxes2d/offset", f"cameras/{name}/boxes2d/box3d_index"),
                    (f"cameras/{name}/depth/offset", f"cameras/{name}/depth/depth")]
        for off_name, col_name in csr:
            o = f[off_name][:]
            check(o.shape == (F + 1,) and o[0] == 0 and np.all(np.diff(o.astype(np.int64)) >= 0)
                  and o[-1] == f[col_name].shape[0], f"{off_name}: CSR into {col_name}")
        # every column of a group has the same length
        for grp, n in [("frames", F), ("lidar", sum(NP)), ("boxes3d", sum(NB))]:
            for k, d in f[grp].items():
                want_n = n + 1 if k.endswith("offset") else n
                check(d.shape[0] == want_n, f"{grp}/{k}: {d.shape[0]} rows, want {want_n}")

        # cross-references, checked structurally (not only against the formula)
        po, bo = f["frames/point_offset"][:], f["frames/box_offset"][:]
        inst, fidx = f["lidar/instance"][:], f["boxes3d/frame_index"][:]
        label, cls = f["lidar/label"][:], f["boxes3d/class_id"][:]
        for i in range(F):
            seg = inst[po[i]:po[i + 1]]
            ok = np.all((seg == -1) | ((seg >= bo[i]) & (seg < bo[i + 1])))
            check(ok, f"frame {i}: lidar/instance points into its own frame's boxes")
            check(np.all(fidx[bo[i]:bo[i + 1]] == i), f"frame {i}: boxes3d/frame_index")
        check(np.all(label[inst >= 0] == cls[inst[inst >= 0]]), "lidar/label is the class of lidar/instance")
        check(np.array_equal(np.bincount(inst[inst >= 0], minlength=sum(NB)),
                             f["boxes3d/num_lidar_points"][:]), "boxes3d/num_lidar_points counts instances")
        for name in CAMS:
            g = f["cameras/" + name]
            b2o, b2i = g["boxes2d/offset"][:], g["boxes2d/box3d_index"][:]
            for i in range(F):
                seg = b2i[b2o[i]:b2o[i + 1]]
                check(np.all((seg >= bo[i]) & (seg < bo[i + 1])), f"{name} frame {i}: box3d_index rebased")
            ts = g["timestamp_ns"][:]
            for i in range(F):
                unpaired = ts[i] == np.iinfo(np.int64).min
                check(unpaired == ((CAMS.index(name), i) in UNPAIRED), f"{name} frame {i}: INT64_MIN iff unpaired")
                if unpaired:
                    check(g["image_path"].asstr()[i] == "" and b2o[i] == b2o[i + 1], f"{name} frame {i}: empty when unpaired")

        # cameras: attributes and fixed matrices
        cam_exp = {"front": (640, 480, "pinhole", "radtan", 500.0, [0.1, -0.05, 0.001, 0.002, 0.01], [1.5, 0.0, 1.2]),
                   "left": (1280, 960, "fisheye", "equidistant", 400.0, [0.01, 0.002, -0.001, 0.0005], [0.5, 0.8, 1.2])}
        for name, (w, h, model, dm, foc, dist, t) in cam_exp.items():
            g = f["cameras/" + name]
            check(g.attrs["width"] == w and g.attrs["height"] == h and g.attrs["width"].dtype == np.uint32,
                  f"{name}: width/height")
            check(g.attrs["model"] == model and g.attrs["distortion_model"] == dm, f"{name}: model attrs")
            check(same(g["K"][:], np.array([[foc, 0, w / 2], [0, foc, h / 2], [0, 0, 1]])), f"{name}: K")
            check(same(g["distortion"][:], np.array(dist)), f"{name}: distortion")
            T = np.array([[0, 0, 1, t[0]], [-1, 0, 0, t[1]], [0, -1, 0, t[2]], [0, 0, 0, 1]], float)
            check(same(g["lidar_T_cam"][:], T), f"{name}: lidar_T_cam")
        for name, (dt, shape) in FIXED.items():
            d = f[name]
            if dt == "str":
                check(is_utf8_str(d.dtype), f"{name}: variable-length UTF-8 string")
            else:
                check(d.dtype.str == dt, f"{name}: dtype {d.dtype.str}")
            if None not in shape:
                check(d.shape == shape, f"{name}: shape {d.shape}, want {shape}")
            check(d.compression is None, f"{name}: small fixed dataset is not filtered")
        lte = np.eye(4)
        lte[0, 3], lte[2, 3] = -1.0, -1.8
        check(same(f["calibration/lidar_T_ego"][:], lte), "calibration/lidar_T_ego")
        check(f["calibration/source"].asstr()[()] == "synthetic rig (fixture)", "calibration/source")
        check(list(f["meta/class_names"].asstr()[:]) == CLASSES, "meta/class_names")
        check(list(f["meta/attribute_names"].asstr()[:]) == ["occluded", "moving"], "meta/attribute_names")
        check(f["meta/schema"].asstr()[()] == "avtruth-synth-v1", "meta/schema")

        # provenance
        pa = f["provenance"].attrs
        check(pa["tool_version"] == "0.1.0-test" and pa["git_sha"] == "0123456789abcdef", "provenance versions")
        check(pa["command_line"] == "avtruth export --test ünï", "provenance command_line")
        import json
        check(json.loads(pa["config"]) == {"voxel": 0.1, "name": "test"}, "provenance config JSON")
        check(pa["started_utc"] == "2023-11-14T22:13:20.000000000Z", f"started_utc {pa['started_utc']}")
        check(pa["finished_utc"] >= pa["started_utc"], "finished_utc after started_utc")
        inp = f["provenance/inputs"]
        if with_inputs:
            names = list(inp["path"].asstr()[:])
            check(names == ["small.txt", "big.bin"], f"provenance inputs {names}")
            for n, sha, size in zip(names, inp["sha256"].asstr()[:], inp["size_bytes"][:]):
                data = open(os.path.join(out_dir, n), "rb").read()
                check(sha == hashlib.sha256(data).hexdigest(), f"sha256 of {n}")
                check(size == len(data), f"size of {n}")
            check(inp["sha256"].asstr()[0] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                  "sha256('abc') (FIPS 180-2 example)")
        else:
            check(inp["path"].shape == (0,) and inp["size_bytes"].shape == (0,), "no inputs")

        # sync
        s = f["sync"]
        check(s.attrs["num_cameras"] == 2 and s.attrs["summary"] == "measured", "sync attrs")
        for c, name in enumerate(CAMS):
            sa = s[name].attrs
            want = {"policy": ["trigger", "nearest"][c], "tolerance_ns": 5000000,
                    "clock_offset_ns": 100 * (c + 1), "clock_drift_ppm": 1.5 * (c + 1),
                    "paired": 5 - c, "unpaired_frames": c, "unpaired_images": 2 * c,
                    "duplicates": 0, "dropped": c, "delta_min_ns": 1000 * (c + 1),
                    "delta_median_ns": 1000 * (c + 1) + 2, "delta_p95_ns": 1000 * (c + 1) + 4,
                    "delta_max_ns": 1000 * (c + 1) + 4,
                    "frames_paired": 5 - c, "frames_unpaired": c,
                    "clock_offset_sd_ns": 25.0 * (c + 1), "clock_drift_sd_ppm": 0.25 * (c + 1),
                    "clock_corrected": c, "clock_t_ref_ns": 1700000000000000000,
                    "jitter_ns": 500.0 + c, "bad_times": 3 * c}
            for k, v in want.items():
                check(k in sa and sa[k] == v, f"sync/{name} {k} = {sa.get(k)!r}, want {v!r}")
            # the same values in row c of the /sync/cameras columns
            t = s["cameras"]
            check(set(t.keys()) == set(want) | {"camera"}, f"sync/cameras columns {sorted(t.keys())}")
            check(t["camera"].asstr()[c] == name, f"sync/cameras/camera[{c}] = {t['camera'].asstr()[c]!r}")
            for k, v in want.items():
                got = t[k].asstr()[c] if h5py.check_string_dtype(t[k].dtype) else t[k][c]
                check(got == v, f"sync/cameras/{k}[{c}] = {got!r}, want {v!r}")

        # dataset card: in the file and beside it
        card = f["dataset_card"].asstr()[()]
        check(f["dataset_card"].shape == (), "dataset_card is scalar")
        side = path[:-3] + ".card.md"
        check(os.path.exists(side) and open(side, encoding="utf-8").read() == card, f"{side} equals /dataset_card")
        hist = np.bincount(exp["boxes3d/class_id"], minlength=4)
        for cid, cname in enumerate(CLASSES):
            row = f"| {cid} | {cname} | {hist[cid]} |"
            check(row in card, f"card histogram row {row!r}")
        for txt in ["# Dataset card: drive-ünïcode-01", "| 5 | 70015 | 10 |", "| front | pinhole | radtan | 640x480 | 5 of 5 |",
                    "| left | fisheye | equidistant | 1280x960 | 4 of 5 |", "Camera left has no paired image in 1 frames",
                    "2 of 5 frames lost LiDAR packets", "1 frames have no LiDAR points", "| trigger |"]:
            check(txt in card, f"card contains {txt!r}")

    check_h5dump(path, gzip, lay)


H5DUMP_TYPES = {"<i8": "H5T_STD_I64LE", "<i4": "H5T_STD_I32LE", "<u8": "H5T_STD_U64LE",
                "<u4": "H5T_STD_U32LE", "<u2": "H5T_STD_U16LE", "|u1": "H5T_STD_U8LE",
                "<f8": "H5T_IEEE_F64LE", "<f4": "H5T_IEEE_F32LE", "str": "H5T_STRING"}


def h5dump_datasets(text):
    """Datasets of `h5dump -H -p` output: path -> the stripped lines of its header (its
    attributes left out)."""
    out, stack = {}, []
    for line in text.splitlines():
        s = line.strip()
        opens, closes = s.count("{"), s.count("}")
        if opens > closes:
            kind, _, rest = s.partition(" ")
            stack.append((kind, rest.split('"')[1] if rest.startswith('"') else ""))
        kinds = [k for k, _ in stack]
        if "DATASET" in kinds and "ATTRIBUTE" not in kinds:
            upto = stack[: kinds.index("DATASET") + 1]
            name = "/".join(n for k, n in upto if k in ("GROUP", "DATASET") and n != "/")
            out.setdefault(name, []).append(s)
        if closes > opens:
            stack.pop()
    return out


def check_h5dump(path, gzip, lay):
    """HDF5's own h5dump, an independent reader, shows every column with FORMAT.md's type,
    unlimited first dimension, chunk shape and filters."""
    if shutil.which("h5dump") is None:
        print("h5dump not installed (Debian hdf5-tools): the h5dump -H check is skipped")
        return
    r = subprocess.run(["h5dump", "-H", "-p", path], capture_output=True, text=True)
    check(r.returncode == 0, f"h5dump -H -p {path}: rc {r.returncode} {r.stderr[:300]}")
    ds = h5dump_datasets(r.stdout)
    for name, (dt, trail, chunk) in lay.items():
        lines = ds.get(name)
        check(lines is not None, f"h5dump -H shows {name}")
        if lines is None:
            continue
        head = "\n".join(lines)
        check(any(x.startswith("DATATYPE") and H5DUMP_TYPES[dt] in x for x in lines),
              f"h5dump {name}: type {H5DUMP_TYPES[dt]} in {head[:200]!r}")
        dims = ", ".join(["H5S_UNLIMITED"] + [str(t) for t in trail])
        check(any(x.startswith("DATASPACE") and x.endswith(f"/ ( {dims} ) }}") for x in lines),
              f"h5dump {name}: max dims ( {dims} ) in {head[:300]!r}")
        cdims = ", ".join(str(c) for c in (chunk,) + trail)
        check(f"CHUNKED ( {cdims} )" in lines, f"h5dump {name}: CHUNKED ( {cdims} )")
        if gzip:
            check("PREPROCESSING SHUFFLE" in lines and "COMPRESSION DEFLATE { LEVEL 1 }" in lines,
                  f"h5dump {name}: shuffle + deflate 1")
        else:
            check("NONE" in lines and not any("DEFLATE" in x for x in lines), f"h5dump {name}: no filter")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    exe, out_dir = sys.argv[1], sys.argv[2]
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    r = subprocess.run([exe, out_dir], capture_output=True, text=True)
    if r.returncode != 0:
        print("export_fixture failed:", r.stdout, r.stderr)
        return 1
    left = sorted(x for x in os.listdir(out_dir) if x.endswith(".partial"))
    check(not left, f"no partial files left: {left}")
    check_file(os.path.join(out_dir, "fixture.h5"), True, True, out_dir)
    check_file(os.path.join(out_dir, "fixture_raw.h5"), False, False, out_dir)
    # the user-facing example reader runs on the fixture
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "read_log.py")
    r = subprocess.run([sys.executable, example, os.path.join(out_dir, "fixture.h5"), "2"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "frame 2: t=1700000000200000000 70000 points, 3 boxes" in r.stdout
          and "left: (no image), 0 2D boxes" in r.stdout, f"examples/read_log.py: {r.stdout} {r.stderr}")
    if shutil.which("h5dump") is None:
        print("note: h5dump not installed; that check was skipped")
    print("FAILED" if failures else "OK", f"({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
