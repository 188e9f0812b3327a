"""log.yaml (docs/drive-log.md): the log id, the LiDAR model and an Ouster metadata file given
there are used and recorded in provenance; an unknown key is an error naming the file and line;
data_port, position_port and source select the packets (checked on a log whose packets were
moved to other ports).
Also builds a drive log around the real Ouster OS-1-64 capture (../shared/data/ouster), so a
real non-Velodyne capture goes through every stage into HDF5."""
import os
import shutil
import struct
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

# Ports and source from log.yaml: the same log with its packets moved to port 2369 (the
# synthetic log has no position packets: position_port is only parsed here)
def move_ports(path, ports):
    """Rewrites the UDP ports (source and destination) of a classic Ethernet pcap in place."""
    b = bytearray(open(path, "rb").read())
    at = 24
    while at + 16 <= len(b):
        n = struct.unpack_from("<I", b, at + 8)[0]
        ip = at + 16 + 14
        if b[at + 16 + 12:at + 16 + 14] == b"\x08\x00" and b[ip + 9] == 17:
            udp = ip + (b[ip] & 15) * 4
            for o in (udp, udp + 2):
                port = struct.unpack_from(">H", b, o)[0]
                struct.pack_into(">H", b, o, ports.get(port, port))
        at += 16 + n
    open(path, "wb").write(b)


moved = os.path.join(d, "moved")
shutil.copytree(log, moved)
os.remove(os.path.join(moved, "log.yaml"))
move_ports(os.path.join(moved, "lidar", "vlp16.pcap"), {2368: 2369, 8308: 8309})
p = run("build", moved, "-o", os.path.join(d, "m0.h5"), check=False)
c.check(p.returncode != 0 and "no Velodyne data packets on UDP port 2368" in p.stderr
        and "port 2369 (" in p.stderr,
        f"packets on other ports: an error naming the ports seen: {p.stderr.strip()!r}")
with open(os.path.join(moved, "log.yaml"), "w") as f:
    f.write("lidar:\n  data_port: 2369\n  position_port: 8309\n")
run("build", moved, "-o", os.path.join(d, "m1.h5"))
with h5py.File(out, "r") as fa, h5py.File(os.path.join(d, "m1.h5"), "r") as fm:
    same = all(np.array_equal(fa["lidar/" + k][:], fm["lidar/" + k][:]) for k in ("time_ns", "xyz", "intensity"))
    same = same and np.array_equal(fa["frames/timestamp_ns"][:], fm["frames/timestamp_ns"][:])
    c.check(same, "data_port / position_port from log.yaml: the same points as on the default ports")
with open(os.path.join(moved, "log.yaml"), "w") as f:
    f.write("lidar:\n  data_port: 2369\n  position_port: 70000\n")
p = run("build", moved, "-o", os.path.join(d, "m2.h5"), check=False)
c.check(p.returncode != 0 and "lidar.position_port: expected a UDP port 1..65535, got '70000'" in p.stderr,
        f"a bad port is reported with its key and value: {p.stderr.strip()!r}")
with open(os.path.join(moved, "log.yaml"), "w") as f:
    f.write("lidar:\n  data_port: 2369\n  source: 10.9.9.9\n")
p = run("build", moved, "-o", os.path.join(d, "m2.h5"), check=False)
c.check(p.returncode != 0 and "UDP port 2369 from 10.9.9.9" in p.stderr,
        f"a source that sends nothing: an error naming it: {p.stderr.strip()!r}")

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
