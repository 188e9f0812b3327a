"""`avtruth build --chunk-rows N`: the per-point and depth columns are chunked N rows (h5py's
chunk shape), every other column keeps its 4,096, every dataset holds the same values as with
the default 16,384, and a value outside 1024..262144 exits 2 naming the accepted range."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import AVTRUTH, Checker, need, run, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")
c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seconds", 1, "--cameras", 2, "--width", 160, "--height", 100)
a, b = os.path.join(d, "a.h5"), os.path.join(d, "b.h5")
run("build", log, "-o", a)
run("build", log, "-o", b, "--chunk-rows", 8192)
POINT = {"lidar/xyz", "lidar/intensity", "lidar/ring", "lidar/time_ns", "lidar/return_type", "lidar/label",
         "lidar/instance"}
with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
    names = []
    fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    for n in names:
        da, db = fa[n], fb[n]
        point = n in POINT or n.endswith(("depth/uv", "depth/depth"))
        if da.chunks:
            want = 8192 if point else da.chunks[0]
            c.check(db.chunks[0] == want, f"{n}: chunk rows {db.chunks[0]} (want {want}; default file {da.chunks[0]})")
            if point:
                c.check(da.chunks[0] == 16384, f"{n}: default chunk rows {da.chunks[0]}")
        if n.startswith("provenance") or n in ("dataset_card",):
            continue  # times, the command line
        va, vb = np.asarray(da[()]), np.asarray(db[()])
        same = va.shape == vb.shape and (va.dtype.kind == "O" and list(va.ravel()) == list(vb.ravel())
                                         or va.dtype.kind != "O" and np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"))
        c.check(same, f"{n}: the same values with 8,192-row chunks")
for bad in (100, 300000):
    p = subprocess.run([AVTRUTH, "build", log, "-o", os.path.join(d, "c.h5"), "--chunk-rows", str(bad)],
                       capture_output=True, text=True)
    c.check(p.returncode == 2 and "1024" in p.stderr and "262144" in p.stderr,
            f"--chunk-rows {bad}: exit {p.returncode}, {p.stderr.strip()[:120]}")
    c.check(not os.path.exists(os.path.join(d, "c.h5")), "no output for a refused value")
c.finish()
