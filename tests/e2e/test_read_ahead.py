"""End-to-end: the ends of the build's read ahead (with cameras, sweep k+2 is decoded, deskewed
and labelled while frame k's cameras are projected; pipeline/build.c).

- Captures of 2, 3 and 4 sweeps with one and with two cameras: every sweep of the generator's
  truth (truth/sweeps.csv) becomes a frame with its start and end times, and every image of
  truth/images.csv is paired, read back with h5py.
- A read that fails during the read ahead (poses.csv cut short, so that a later sweep cannot be
  deskewed) stops the build with the message the sweep's read gives, naming the capture, the
  sweep and poses.csv, exit 1, and no output file, partial or whole."""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need('h5py', 'numpy')

c = Checker()
d = tmpdir()


def truth(log, name):
    with open(os.path.join(log, "truth", name), newline="") as f:
        return list(csv.DictReader(row for row in f if not row.startswith("#")))


for cams in (1, 2):
    for secs, n_sweeps in ((0.1, 2), (0.2, 3), (0.3, 4)):
        log = os.path.join(d, f"short_{cams}_{secs}")
        out = log + ".h5"
        run("synth", log, "--seed", 5, "--seconds", secs, "--cameras", cams, "--quiet")
        sweeps = truth(log, "sweeps.csv")
        images = truth(log, "images.csv")
        c.check(len(sweeps) == n_sweeps, f"{secs} s: the generator wrote {len(sweeps)} sweeps, expected {n_sweeps}")
        p = run("build", log, "-o", out, "--quiet", check=False)
        c.check(p.returncode == 0, f"{cams} camera(s), {len(sweeps)} sweeps: build exits 0 ({p.stderr[-300:]})")
        if p.returncode != 0:
            continue
        with h5py.File(out, "r") as f:
            c.check(int(f.attrs["num_frames"]) == len(sweeps),
                    f"{cams} camera(s): {f.attrs['num_frames']} frames for {len(sweeps)} sweeps")
            c.check(np.array_equal(f["frames/start_ns"][:], [int(s["start_ns"]) for s in sweeps]) and
                    np.array_equal(f["frames/end_ns"][:], [int(s["end_ns"]) for s in sweeps]),
                    f"{cams} camera(s), {len(sweeps)} sweeps: frame start and end times are the truth's")
            for name in f["cameras"]:
                paired = sorted(int(t) for t in f[f"cameras/{name}/timestamp_ns"][:] if t != np.iinfo(np.int64).min)
                want = sorted(int(i["exposure_ns"]) for i in images if i["camera"] == name and not i["duplicate_of"])
                c.check(paired == want, f"{cams} camera(s), {len(sweeps)} sweeps: camera {name} pairs "
                                        f"{len(paired)} images, truth has {len(want)}")

# a read that fails during the read ahead
log = os.path.join(d, "cut_poses")
out = os.path.join(d, "cut_poses.h5")
run("synth", log, "--seed", 3, "--seconds", 2, "--cameras", 2, "--quiet")
with open(os.path.join(log, "poses.csv")) as f:
    rows = f.readlines()
with open(os.path.join(log, "poses.csv"), "w") as f:
    f.writelines(rows[:len(rows) // 2])
p = run("build", log, "-o", out, "--quiet", check=False)
msg = p.stderr.strip()
c.check(p.returncode == 1, f"poses cut short: build exits {p.returncode}, expected 1 ({msg[-300:]})")
c.check("vlp16.pcap: sweep " in msg and "poses.csv: no pose at" in msg,
        f"the error names the capture, the sweep and poses.csv: {msg[-300:]}")
c.check(not os.path.exists(out) and not os.path.exists(out + ".partial"), "no output file is left")
c.finish()
