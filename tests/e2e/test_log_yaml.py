"""log.yaml (docs/drive-log.md): the log id, the LiDAR model and an Ouster metadata file given
there are used and recorded in provenance; an unknown key is an error naming the file and line.
Also builds a drive log around the real Ouster OS-1-64 capture (../shared/data/ouster), so a
real non-Velodyne capture goes through every stage into HDF5."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need('h5py', 'numpy')

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", 2, "--seconds", 0.5, "--cameras", 1, "--width", 320, "--height", 200)
with open(os.path.join(log, "log.yaml"), "w") as f:
    f.write("log_id: drive-A\nlicence: CC-BY-4.0\nlidar:\n  model: vlp16\n  data_port: 2368\n")
out = os.path.join(d, "a.h5")
run("build", log, "-o", out)
with h5py.File(out, "r") as f:
    c.check(f.attrs["log_id"] == "drive-A", f"log_id from log.yaml, got {f.attrs['log_id']!r}")
    paths = [p.decode() if isinstance(p, bytes) else p for p in f["provenance/inputs/path"][:]]
    c.check("log.yaml" in paths, "log.yaml recorded in provenance")
    card = f["dataset_card"][()]
    card = card.decode() if isinstance(card, bytes) else card
    c.check("Licence: CC-BY-4.0" in card, "the dataset card states the licence from log.yaml")

with open(os.path.join(log, "log.yaml"), "w") as f:
    f.write("log_id: drive-A\nlidar:\n  modle: vlp16\n")
p = run("build", log, "-o", os.path.join(d, "b.h5"), check=False)
c.check(p.returncode != 0 and "log.yaml" in p.stderr and "line 3" in p.stderr and "modle" in p.stderr,
        f"unknown key reported with file and line: {p.stderr.strip()!r}")
c.check(not os.path.exists(os.path.join(d, "b.h5")), "no output after a bad log.yaml")

shared = os.environ.get("AVT_SHARED_DATA", "")
cap = os.path.join(shared, "ouster", "OS-1-64_1024x10_fw20.pcap")
if os.path.exists(cap):
    olog = os.path.join(d, "ouster")
    os.makedirs(os.path.join(olog, "lidar"))
    os.makedirs(os.path.join(olog, "meta"))
    shutil.copy(cap, os.path.join(olog, "lidar", "os1.pcap"))
    shutil.copy(os.path.join(shared, "ouster", "OS-1-64_sensor_config_reduced.json"), os.path.join(olog, "meta", "os1.json"))
    with open(os.path.join(olog, "calib.yaml"), "w") as f:
        f.write("version: 1\nlidar:\n  model: ouster\n  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,-1.9, 0,0,0,1]\ncameras: []\n")
    with open(os.path.join(olog, "log.yaml"), "w") as f:
        f.write("lidar:\n  model: ouster\n  metadata: meta/os1.json\n")
    oout = os.path.join(d, "ouster.h5")
    run("build", olog, "-o", oout)
    ref = os.path.join(shared, "reference", "ouster", "OS-1-64_1024x10_fw20.npz")
    with h5py.File(oout, "r") as f:
        n = int(f["frames/point_offset"][-1])
        ring = f["lidar/ring"][:]
        c.check(int(f.attrs["num_frames"]) >= 1 and ring.max() == 63, f"Ouster log: {n} points, rings up to {ring.max()}")
        if os.path.exists(ref):
            # the reference's returns: range of at least the decoder's minimum in a valid column
            r = np.load(ref)
            valid_col = (r["scan_status"][0] & 1) == 1
            n_ref = int(((r["field_RANGE"][0] >= 100) & valid_col[None, :]).sum())
            c.check(n == n_ref, f"Ouster log: {n} points, the ouster-sdk reference decode has {n_ref}")
        paths = [p.decode() if isinstance(p, bytes) else p for p in f["provenance/inputs/path"][:]]
        c.check("meta/os1.json" in paths, "Ouster metadata recorded in provenance")
else:
    print(f"note: {cap} absent, Ouster part skipped")
c.finish()
