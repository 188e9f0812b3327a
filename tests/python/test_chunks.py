#!/usr/bin/python3
"""avtruth._chunks.Column (libdeflate reads of stored chunks) against h5py's own d[lo:hi],
byte for byte: every row range of small datasets of every dtype and row shape the format
uses, shuffle + deflate, deflate only, unfiltered, a chunk stored with a filter skipped
(filter mask), the partial last chunk, a virtual dataset over two sources (as `avtruth
stitch` writes), the layouts it leaves to h5py, a corrupt chunk (the error names file,
dataset and chunk), the chunk cache, and a real `avtruth build` output.

Usage: test_chunks.py WORK_DIR   (AVTRUTH = the CLI). Skips (77) without h5py/numpy.
"""
import os
import shutil
import sys
import threading
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from common import Checker, need, run  # noqa: E402

h5py, np = need("h5py", "numpy")

from avtruth import _chunks  # noqa: E402

checker = Checker()
check = checker.check
work = sys.argv[1]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
check(_chunks.available(), "libdeflate (libdeflate0) loads: the tests below would test h5py")

rng = np.random.default_rng(7)
# dtype, row shape: the format's columns (xyz, intensity, ring, time_ns, return_type,
# instance, ego_pose, track_id, corners)
KINDS = [(np.float32, (3,)), (np.float32, ()), (np.uint16, ()), (np.int32, ()), (np.uint8, ()),
         (np.int64, ()), (np.float64, (4, 4)), (np.float32, (8, 2))]


def values(dtype, n, shape):
    a = rng.normal(0, 50, (n,) + shape)
    if np.dtype(dtype).kind in "iu":  # runs and noise, like labels and rings
        a = np.repeat(rng.integers(0, 300, n // 3 + 1), 3)[:n].reshape(-1, *([1] * len(shape)))
        a = np.broadcast_to(a, (n,) + shape) + rng.integers(0, 2, (n,) + shape)
    return a.astype(dtype)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def all_ranges(col, d, what):
    n = d.shape[0]
    bad = [(lo, hi) for lo in range(n + 1) for hi in range(lo, n + 1)
           if not same(col.read(lo, hi), d[lo:hi])]
    check(not bad, f"{what}: every range [lo, hi) of {n} rows equals h5py (first bad: "
          f"{bad[:1]})")
    direct = col.filters is not None or col.parts is not None
    check(not direct or (col.by_h5py == 0 and all(p[2].by_h5py == 0 for p in col.parts or [])),
          f"{what}: no range left to h5py")


# ---- every dtype and row shape, each filter pipeline ----------------------------------------
path = os.path.join(work, "kinds.h5")
with h5py.File(path, "w") as f:
    for k, (dtype, shape) in enumerate(KINDS):
        v = values(dtype, 45, shape)  # chunks of 8 rows: a partial last chunk of 5
        f.create_dataset(f"sd{k}", data=v, chunks=(8,) + shape, shuffle=True,
                         compression="gzip", compression_opts=1)
        f.create_dataset(f"d{k}", data=v, chunks=(8,) + shape, compression="gzip")
        f.create_dataset(f"n{k}", data=v, chunks=(8,) + shape)
    f.create_dataset("contiguous", data=np.arange(20, dtype=np.float32))
    f.create_dataset("inner_chunks", data=np.zeros((20, 4), np.float32), chunks=(8, 2),
                     shuffle=True, compression="gzip")
    f.create_dataset("lzf", data=np.arange(20, dtype=np.float32), chunks=(8,), compression="lzf")
with h5py.File(path, "r") as f:
    for k, (dtype, shape) in enumerate(KINDS):
        for pre, filters in (("sd", (2, 1)), ("d", (1,)), ("n", ())):
            d = f[f"{pre}{k}"]
            col = _chunks.Column(d)
            check(col.filters == filters, f"{pre}{k}: read from its chunks (filters {filters})")
            all_ranges(col, d, f"{pre}{k} {np.dtype(dtype)} {shape}")
    for name in ("contiguous", "inner_chunks", "lzf"):
        col = _chunks.Column(f[name])
        check(col.filters is None and col.parts is None, f"{name}: left to h5py")
        all_ranges(col, f[name], name)

# ---- a chunk stored with its deflate skipped (filter mask bit 1), as HDF5 allows ------------
path = os.path.join(work, "mask.h5")
v = values(np.float32, 24, (3,))
with h5py.File(path, "w") as f:
    d = f.create_dataset("x", shape=v.shape, dtype=v.dtype, chunks=(8, 3), shuffle=True,
                         compression="gzip")
    for c in range(3):
        planes = v[8 * c:8 * c + 8].tobytes()
        shuffled = np.frombuffer(planes, np.uint8).reshape(-1, 4).T.tobytes()
        if c == 1:
            d.id.write_direct_chunk((8 * c, 0), shuffled, filter_mask=0b10)
        else:
            d.id.write_direct_chunk((8 * c, 0), zlib.compress(shuffled, 1), filter_mask=0)
with h5py.File(path, "r") as f:
    all_ranges(_chunks.Column(f["x"]), f["x"], "chunk 1 stored unfiltered by its mask")
    check(same(f["x"][:], v), "(the file holds the values)")

# ---- a corrupt chunk: an error naming file, dataset and chunk, never wrong values -----------
path = os.path.join(work, "corrupt.h5")
with h5py.File(path, "w") as f:
    d = f.create_dataset("x", data=np.arange(32, dtype=np.float32), chunks=(8,), shuffle=True,
                         compression="gzip")
    raw = bytearray(d.id.read_direct_chunk((8,))[1])
    raw[len(raw) // 2] ^= 0xFF
    raw[len(raw) // 2 + 1] ^= 0x5A
    d.id.write_direct_chunk((8,), bytes(raw))
with h5py.File(path, "r") as f:
    col = _chunks.Column(f["x"])
    check(same(col.read(0, 8), f["x"][0:8]), "rows of the intact chunk read")
    try:
        col.read(4, 12)
        check(False, "a corrupt chunk raised no error")
    except OSError as e:
        m = str(e)
        check("corrupt.h5" in m and "/x" in m and "chunk 1" in m,
              f"corrupt chunk error names file, dataset and chunk: {m}")

# ---- the chunk cache: sequential reads inflate each chunk once ------------------------------
with h5py.File(os.path.join(work, "kinds.h5"), "r") as f:
    col = _chunks.Column(f["sd0"])
    for lo in range(0, 45, 3):
        col.read(lo, lo + 3)
    check(col.inflated == 6, f"15 sequential reads of 6 chunks inflate 6 ({col.inflated})")

# ---- a virtual dataset over two sources, named relative to the index ------------------------
os.makedirs(os.path.join(work, "v"))
parts = [values(np.float32, 21, (3,)), values(np.float32, 10, (3,))]
for k, p in enumerate(parts):
    with h5py.File(os.path.join(work, "v", f"s{k}.h5"), "w") as f:
        f.create_dataset("lidar/xyz", data=p, chunks=(8, 3), shuffle=True, compression="gzip")
lay = h5py.VirtualLayout(shape=(31, 3), dtype=np.float32)
lay[0:21] = h5py.VirtualSource("s0.h5", "lidar/xyz", shape=(21, 3))
lay[21:31] = h5py.VirtualSource("s1.h5", "lidar/xyz", shape=(10, 3))
with h5py.File(os.path.join(work, "v", "index.h5"), "w", libver="v110") as f:
    f.create_virtual_dataset("lidar/xyz", lay)
cwd = os.getcwd()
os.chdir(work)  # sources are found next to the index, not in the working directory
try:
    with h5py.File(os.path.join("v", "index.h5"), "r") as f:
        files = {}
        col = _chunks.Column(f["lidar/xyz"], files)
        check(col.parts is not None and [p[:2] for p in col.parts] == [(0, 21), (21, 31)],
              f"virtual dataset followed to its two sources ({col.parts and [p[:2] for p in col.parts]})")
        check(all(p[2].filters == (2, 1) for p in col.parts or []),
              "each source read from its chunks")
        all_ranges(col, f["lidar/xyz"], "virtual over two sources")
        for g in files.values():
            g.close()
finally:
    os.chdir(cwd)

# ---- what it leaves to h5py: converted file types, overlapping mappings, unwritten chunks -----
path = os.path.join(work, "odd.h5")
with h5py.File(path, "w") as f:
    t = h5py.h5t.STD_I16LE.copy()
    t.set_precision(12)  # signed 12-bit integers in 2 bytes: h5py sign-extends them
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((8,))
    dcpl.set_deflate(1)
    d = h5py.h5d.create(f.id, b"int12", t, h5py.h5s.create_simple((16,)), dcpl=dcpl)
    raw = np.array([0x0FFF, 0x0800, 0x0123, 5] * 4, np.uint16).tobytes()
    for c in range(2):
        d.write_direct_chunk((8 * c,), zlib.compress(raw[16 * c:16 * c + 16]))
    u = f.create_dataset("unwritten", shape=(24,), dtype="i4", chunks=(8,), compression="gzip",
                         fillvalue=7)
    u[0:8] = np.arange(8)
    f.create_dataset("a", data=np.arange(10, dtype="i4"), chunks=(4,), compression="gzip")
    f.create_dataset("b", data=np.arange(100, 110, dtype="i4"), chunks=(4,), compression="gzip")
    lay = h5py.VirtualLayout((20,), "i4")
    lay[0:10] = h5py.VirtualSource(".", "a", shape=(10,))
    lay[5:15] = h5py.VirtualSource(".", "b", shape=(10,))
    f.create_virtual_dataset("overlap", lay, fillvalue=-1)
with h5py.File(path, "r") as f:
    col = _chunks.Column(f["int12"])
    check(col.filters is None and same(col.read(0, 16), f["int12"][0:16]),
          "a 12-bit integer type is left to h5py (it converts the values)")
    col = _chunks.Column(f["overlap"])
    check(col.parts is None and same(col.read(0, 20), f["overlap"][0:20]),
          "overlapping virtual mappings are left to h5py (its precedence, fill values)")
    col = _chunks.Column(f["unwritten"])
    check(same(col.read(0, 24), f["unwritten"][0:24]) and same(col.read(2, 6), f["unwritten"][2:6])
          and col.by_h5py == 1, "a range over a chunk never written reads h5py's fill value")

# ---- threads sharing a file and a Column: one decompressor per thread, a locked cache -------
path = os.path.join(work, "threads.h5")
v = values(np.float32, 64 * 1024, (3,))
with h5py.File(path, "w") as f:
    f.create_dataset("x", data=v, chunks=(1024, 3), shuffle=True, compression="gzip")
with h5py.File(path, "r") as f:
    shared = _chunks.Column(f["x"])
    shared.keep = 1  # every read inflates: the most concurrent inflates
    bad = []

    def reader(seed):
        r = np.random.default_rng(seed)
        own = _chunks.Column(f["x"])
        for k in range(150):
            lo = int(r.integers(0, len(v) - 3000))
            hi = lo + int(r.integers(1, 3000))
            try:
                for col in (own, shared):
                    if col.read(lo, hi).tobytes() != v[lo:hi].tobytes():
                        bad.append((seed, lo, hi))
            except Exception as e:  # noqa: BLE001 (any failure is the finding)
                bad.append(repr(e))
    ts = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not bad, f"3 threads, own and shared Columns, 900 random ranges: {bad[:2]}")

# ---- no libdeflate: h5py reads everything ---------------------------------------------------
lib = _chunks._INFLATER.lib
_chunks._INFLATER.lib = None
try:
    with h5py.File(os.path.join(work, "kinds.h5"), "r") as f:
        col = _chunks.Column(f["sd0"])
        check(col.filters is None and same(col.read(3, 30), f["sd0"][3:30]),
              "without libdeflate a column is read by h5py")
finally:
    _chunks._INFLATER.lib = lib

# ---- a real build: every column the Dataset reads comes from its chunks ---------------------
log = os.path.join(work, "log")
p = run("synth", log, "--seconds", "3", "--cameras", "2", "--lidar", "vlp16", "--quiet",
        check=False)
check(p.returncode == 0, f"synth: {p.stderr}")
out = os.path.join(work, "out.h5")
p = run("build", log, "-o", out, "--chunk-rows", "1024", "--quiet", check=False)
check(p.returncode == 0, f"build: {p.stderr}")
with h5py.File(out, "r") as f:
    po = f["frames/point_offset"][:].astype(np.int64)
    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and
                 o.dtype.kind in "biuf" and o.chunks and o.shape and o.shape[0] > 0 else None)
    checked = 0
    for n in names:
        d = f[n]
        col = _chunks.Column(d)
        check(col.filters is not None, f"{n}: read from its chunks")
        m = d.shape[0]
        ranges = [(0, m), (m - 1, m), (m // 3, m // 3 + 1)]
        if n.startswith("lidar/"):
            ranges += [(po[i], po[i + 1]) for i in range(len(po) - 1)]
        checked += all(same(col.read(a, b), d[a:b]) for a, b in ranges)
    check(checked == len(names), f"{checked} of {len(names)} columns of a build equal h5py "
          "(whole, last row, a middle row, every frame of the point columns)")

checker.finish()
