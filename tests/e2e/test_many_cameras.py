"""A rig of 20 cameras: every camera gets its full pairing summary in /sync/cameras and /sync/<camera>.

The log is a synthetic one whose 3 cameras are repeated under new names (their image folders
linked) up to 20: a repeated camera sees the same images through the same calibration, so its
row must equal its original's field for field, whatever its position in the rig. The clock
reference time is checked against /frames/timestamp_ns[0] (FORMAT.md: the offset holds at the
first frame), and the clock fields against being zero where the fit is valid.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")
c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seconds", 3, "--cameras", 3, "--width", 160, "--height", 100, "--clock-offset", 0.02, "--jitter", 0.002)

# repeat the cameras of calib.yaml under new names until there are 20
calib = open(os.path.join(log, "calib.yaml")).read()
head, cams = calib.split("cameras:\n", 1)
blocks = re.split(r"(?m)^(?=  - name: )", cams)
blocks = [b for b in blocks if b.strip()]
names = [re.match(r"  - name: (\S+)", b).group(1) for b in blocks]
c.check(len(names) == 3, f"the synthetic rig has 3 cameras: {names}")
origin = {n: n for n in names}
k = 0
while len(origin) < 20:
    src = names[k % len(names)]
    new = f"{src}_copy{k}"
    blocks.append(re.sub(r"(?m)^  - name: \S+", f"  - name: {new}", blocks[k % len(names)], count=1))
    os.symlink(src, os.path.join(log, "cameras", new))
    origin[new] = src
    k += 1
with open(os.path.join(log, "calib.yaml"), "w") as f:
    f.write(head + "cameras:\n" + "".join(b if b.endswith("\n") else b + "\n" for b in blocks))

out = os.path.join(d, "out.h5")
run("build", log, "-o", out)
with h5py.File(out, "r") as f:
    t0 = int(f["frames/timestamp_ns"][0])
    table = f["sync/cameras"]
    cams = [x.decode() if isinstance(x, bytes) else str(x) for x in table["camera"][()]]
    c.check(len(cams) == 20, f"/sync/cameras has 20 rows: {len(cams)}")
    fields = [k for k in table.keys() if k != "camera"]
    for i, cam in enumerate(cams):
        j = cams.index(origin[cam])
        for k in fields:
            a, b = table[k][()][i], table[k][()][j]
            same = (a == b) or (isinstance(a, float) and np.isnan(a) and np.isnan(b))
            c.check(same, f"row {i} ({cam}) {k} = {a!r}, its original {origin[cam]} has {b!r}")
        c.check(int(table["clock_t_ref_ns"][i]) == t0, f"row {i} ({cam}) clock_t_ref_ns is the first frame's time")
        c.check(table["paired"][i] > 0, f"row {i} ({cam}) paired images")
        if f[f"sync/{cam}"].attrs["clock_offset_sd_ns"] == 0 and table["jitter_ns"][i] == 0:
            c.check(False, f"/sync/{cam}: clock standard deviations and jitter all zero")
        for k in fields:
            a = f[f"sync/{cam}"].attrs[k]
            b = table[k][()][i]
            a = a.decode() if isinstance(a, bytes) else a
            b = b.decode() if isinstance(b, bytes) else b
            c.check(a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b)),
                    f"/sync/{cam}@{k} = {a!r} but /sync/cameras/{k}[{i}] = {b!r}")
    c.check(all(table["clock_corrected"][()] == 1), "every camera's 20 ms clock offset is corrected")
c.finish()
