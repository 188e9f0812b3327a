#!/usr/bin/python3
"""avtruth bench: random-frame reads.

    bench_read.py DIR [--frames N]
        h5py reads/s for each file bench_export left in DIR. A "frame" read is what a
        training loader does: the offsets, then xyz, label and instance of one sweep, its
        boxes and one camera's 2D boxes and depth.

    bench_read.py --loader FILE.h5 [--frames N] [--batch B] [--rounds R]
        avtruth.Dataset items (default columns, every camera) of N random frames through a
        torch DataLoader (batches of B with avtruth.collate) with 1 and 2 workers, next to the
        same arrays saved uncompressed as one .npy per array and frame (np.load, the
        baseline, measured in the same run, rounds interleaved): frames/s and M points/s.
        Without torch, only the in-process rates are printed.
"""
import glob
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def read_frame(f, i):
    p0, p1 = f["frames/point_offset"][i:i + 2]
    b0, b1 = f["frames/box_offset"][i:i + 2]
    f["lidar/xyz"][p0:p1]
    f["lidar/label"][p0:p1]
    f["lidar/instance"][p0:p1]
    f["boxes3d/center"][b0:b1]
    g = f["cameras/front"]
    k0, k1 = g["boxes2d/offset"][i:i + 2]
    g["boxes2d/xyxy"][k0:k1]
    d0, d1 = g["depth/offset"][i:i + 2]
    g["depth/uv"][d0:d1]


def files_mode(d, n):
    print(f"\nrandom-frame reads with h5py {h5py.version.version} (HDF5 {h5py.version.hdf5_version}), {n} frames each:")
    for path in sorted(glob.glob(os.path.join(d, "*.h5"))):
        try:
            with h5py.File(path, "r") as f:
                F = int(f.attrs["num_frames"])
                rng = random.Random(1)
                idx = [rng.randrange(F) for _ in range(n)]
                t0 = time.perf_counter()
                for i in idx:
                    read_frame(f, i)
                dt = time.perf_counter() - t0
                print(f"  {os.path.basename(path):16s} {f.attrs['compression']:11s} {n / dt:8.1f} frames/s")
        except OSError as e:  # e.g. a blosc file without the plugin
            print(f"  {os.path.basename(path):16s} unreadable here: {e}")
    return 0


# ---- --loader: avtruth.Dataset against per-frame .npy files -------------------------------

CONSTANT = {"lidar_T_ego", "K", "distortion", "lidar_T_cam"}  # per log, not per frame


def _flatten(item, prefix=""):
    """The item's per-frame numeric arrays as {path: array} (cameras' dicts flattened with
    '/'); the per-log calibration is left out of the baseline."""
    out = {}
    for k, v in item.items():
        if k in CONSTANT:
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}/"))
        elif isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.ndim > 0:
            out[prefix + k] = v
    return out


def _unflatten(flat):
    out = {}
    for k, v in flat.items():
        d = out
        *parents, leaf = k.split("/")
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = v
    return out


class NpyFrames:
    """The baseline: frame i's arrays from DIR/i/<key>.npy, uncompressed, np.load each."""

    def __init__(self, d, n, keys):
        self.d, self.n, self.keys = d, n, keys

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        base = os.path.join(self.d, str(i))
        return _unflatten({k: np.load(os.path.join(base, k.replace("/", "__") + ".npy"))
                           for k in self.keys})


def write_npy(ds, d):
    keys = None
    for i in range(len(ds)):
        flat = _flatten(ds[i])
        keys = keys or list(flat)
        os.makedirs(os.path.join(d, str(i)))
        for k, v in flat.items():
            np.save(os.path.join(d, str(i), k.replace("/", "__") + ".npy"), v)
    return keys


def _cpu():
    """CPU seconds of this process and its reaped children (the DataLoader's workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def rate_inprocess(ds, idx):
    """frames/s, M points/s and frames per CPU second of ds[i] for i in idx, timed from the
    second item (the first opens the file)."""
    ds[idx[0]]
    t0, c0 = time.perf_counter(), _cpu()
    pts = sum(len(ds[i]["xyz"]) for i in idx[1:])
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    return (len(idx) - 1) / dt, pts / dt / 1e6, (len(idx) - 1) / cpu


def rate_loader(ds, idx, workers, batch, torch, collate):
    """The same through a DataLoader, timed from the first batch (worker start-up excluded);
    the CPU seconds are those of the whole run, workers included (they are reaped at its end)."""
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, sampler=idx, num_workers=workers,
                                         collate_fn=collate, prefetch_factor=4)
    c0 = _cpu()
    it = iter(loader)
    next(it)
    t0 = time.perf_counter()
    frames = pts = 0
    for b in it:
        frames += len(b["box_count"])
        pts += len(b["xyz"])
    dt = time.perf_counter() - t0
    del it
    return frames / dt, pts / dt / 1e6, len(idx) / (_cpu() - c0)


def loader_mode(path, n, batch, rounds):
    import avtruth
    try:
        import torch
    except ImportError:
        torch = None
        print("torch not importable (Debian python3-torch): in-process rates only")
    ds = avtruth.Dataset(path)
    with h5py.File(path, "r") as f:
        comp = f.attrs.get("compression", "?")
        npts = int(f["frames/point_offset"][-1])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"(shared with other jobs: compare ratios); h5py {h5py.version.version}, HDF5 "
          f"{h5py.version.hdf5_version}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ""))
    print(f"{path}: {len(ds)} frames, {npts / len(ds):.0f} points/frame, cameras "
          f"{','.join(ds.cameras)}, compression {comp}, {os.path.getsize(path) / 1e6:.1f} MB")
    tmp = tempfile.mkdtemp(prefix="bench-read-npy-")
    try:
        keys = write_npy(ds, tmp)
        du = sum(os.path.getsize(p) for p in glob.glob(os.path.join(tmp, "*", "*.npy")))
        print(f"baseline: {len(keys)} .npy files per frame, {du / 1e6:.1f} MB uncompressed "
              "(both in the page cache: decoding, not the disk, is measured)")
        npy = NpyFrames(tmp, len(ds), keys)
        rng = random.Random(1)
        idx = [rng.randrange(len(ds)) for _ in range(n)]
        configs = [("in-process", None)]
        if torch is not None:
            configs += [("1 worker", 1), ("2 workers", 2)]
        res = {}
        for r in range(rounds):
            for name, w in configs:
                # a fresh Dataset each time: no chunk cache left from an earlier measurement
                for src, d in (("avtruth", avtruth.Dataset(path)), ("npy", npy)):
                    if w is None:
                        v = rate_inprocess(d, idx)
                    else:
                        v = rate_loader(d, idx, w, batch, torch, avtruth.collate)
                    res.setdefault((name, src), []).append(v)
        print(f"{n} random frames, batches of {batch} (avtruth.collate), {rounds} interleaved "
              "rounds, medians (frames/CPU s: per CPU second of the loop and its workers):")
        print(f"  {'':12s} {'avtruth frames/s':>17s} {'M points/s':>10s} {'frames/CPU s':>12s} "
              f"{'npy frames/s':>13s} {'M points/s':>10s} {'frames/CPU s':>12s} {'avtruth/npy':>11s}")
        for name, _ in configs:
            a = np.median(np.array(res[(name, "avtruth")]), axis=0)
            b = np.median(np.array(res[(name, "npy")]), axis=0)
            ratios = [x[0] / y[0] for x, y in zip(res[(name, "avtruth")], res[(name, "npy")])]
            print(f"  {name:12s} {a[0]:17.1f} {a[1]:10.2f} {a[2]:12.1f} {b[0]:13.1f} {b[1]:10.2f} "
                  f"{b[2]:12.1f} {np.median(ratios):10.0%}")
        print(f"  load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")
        if torch is not None:
            a2 = np.median([x[0] for x in res[("2 workers", "avtruth")]])
            r2 = np.median([x[0] / y[0] for x, y in zip(res[("2 workers", "avtruth")],
                                                          res[("2 workers", "npy")])])
            print(f"targets, 2 workers: >= 300 frames/s: {a2:.0f}; >= 50 % of npy: {r2:.0%}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    args = sys.argv[1:]

    def opt(name, default):
        return int(args[args.index(name) + 1]) if name in args else default

    if args and args[0] == "--loader" and len(args) > 1:
        return loader_mode(args[1], opt("--frames", 300), opt("--batch", 8), opt("--rounds", 3))
    if args and not args[0].startswith("--"):
        return files_mode(args[0], opt("--frames", 200))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
