"""End-to-end: a real capture whose last record is cut (power loss) builds with status 0 from
the records before the cut, and says where the cut is; damage followed by more data stays an
error with no output.

The expected points are those of the same log whose capture this script cut back to its last
record boundary (walking the classic pcap's record headers itself, tcpdump.org's
pcap-savefile(5) layout), read back with h5py. Cut lengths: a byte of the record header,
all of it, into the Ethernet/IPv4/UDP headers, the middle of the payload, one byte short
(tests/ingest/test_truncation.c cuts every byte of the last record through the library)."""
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, skip, tmpdir  # noqa: E402

h5py, np = need('h5py', 'numpy')

SRC = os.path.join(os.environ.get("AVT_SHARED_DATA", "../shared/data"), "velodyne",
                   "vlp16_strongest_2014.pcap")
if not os.path.exists(SRC):
    skip(f"{SRC} missing (the real captures are in ../shared/data)")
with open(SRC, "rb") as f:
    cap = f.read()
assert cap[:4] == b"\xd4\xc3\xb2\xa1", "a little-endian microsecond pcap"
starts = []  # offsets of the records
off = 24
while off + 16 <= len(cap):
    starts.append(off)
    off += 16 + struct.unpack_from("<I", cap, off + 8)[0]
assert off == len(cap), "the capture is whole"
last = starts[-1]
last_len = len(cap) - last
nrec = len(starts)

c = Checker()
d = tmpdir()


def make_log(name, data):
    log = os.path.join(d, name)
    os.makedirs(os.path.join(log, "lidar"))
    with open(os.path.join(log, "calib.yaml"), "w") as f:
        f.write("version: 1\nlidar:\n  model: vlp16\n"
                "  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\ncameras: []\n")
    with open(os.path.join(log, "log.yaml"), "w") as f:
        f.write("lidar:\n  model: vlp16\n")  # the 2014 VLP-16 reports the HDL-32E byte
    with open(os.path.join(log, "lidar", "vlp16.pcap"), "wb") as f:
        f.write(data)
    return log


FIELDS = ("lidar/xyz", "lidar/intensity", "lidar/ring", "lidar/time_ns", "lidar/return_type",
          "frames/start_ns", "frames/end_ns", "frames/point_offset", "frames/packets")


def read(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in FIELDS}


ref_log = make_log("whole-records", cap[:last])
ref_out = os.path.join(d, "ref.h5")
run("build", ref_log, "-o", ref_out)
ref = read(ref_out)
full_out = os.path.join(d, "full.h5")
run("build", make_log("full", cap), "-o", full_out)
c.check(len(read(full_out)["lidar/xyz"]) > len(ref["lidar/xyz"]),
        "the last record holds points (so a cut there loses some)")

for keep in (1, 8, 15, 16, 17, 30, 16 + 14 + 20 + 4, 16 + 14 + 20 + 8, last_len // 2, last_len - 1):
    log = make_log(f"cut{keep}", cap[:last + keep])
    out = os.path.join(d, f"cut{keep}.h5")
    p = run("build", log, "-o", out, check=False)
    c.check(p.returncode == 0, f"cut {keep} bytes into record {nrec}: status {p.returncode}: {p.stderr}")
    if p.returncode != 0:
        continue
    want = f"truncated at record {nrec}, byte {last + keep}"
    c.check(want in p.stdout, f"summary says {want!r}: {p.stdout!r}")
    with open(os.path.join(d, f"cut{keep}.card.md")) as f:
        card = f.read()
    findings = card[card.find("## Validation findings"):]
    c.check(want in findings, f"card's validation findings say {want!r}")
    got = read(out)
    for k in FIELDS:
        c.check(got[k].shape == ref[k].shape and np.array_equal(got[k], ref[k]),
                f"cut {keep}: {k} as the capture without its last record")

# the same record cut in the middle of the file, followed by the rest: an error, no output
mid = starts[nrec // 2]
log = make_log("hole", cap[:mid + 16 + 600] + cap[mid + 16 + 700:])
out = os.path.join(d, "hole.h5")
p = run("build", log, "-o", out, check=False)
c.check(p.returncode == 1, f"a hole inside record {nrec // 2 + 1}: status {p.returncode}")
c.check("vlp16.pcap" in p.stderr and "record " in p.stderr, f"error names file and record: {p.stderr!r}")
left = [n for n in os.listdir(d) if n.startswith("hole.")]
c.check(not left, f"nothing written for the hole: {left}")
shutil.rmtree(d)
c.finish()
