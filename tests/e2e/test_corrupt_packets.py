"""End-to-end: a capture with a few corrupt LiDAR packets still builds; the packets are counted
and skipped, and the build's summary, the dataset card (beside the file and in /dataset_card)
name them by record number, found here by walking the pcap independently of the decoder."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py = need('h5py')

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", 3, "--seconds", 2, "--cameras", 1)
pcap = os.path.join(log, "lidar", "vlp16.pcap")
with open(pcap, "rb") as f:
    cap = bytearray(f.read())
c.check(cap[:4] == b"\xd4\xc3\xb2\xa1", "synthetic capture is little-endian microsecond pcap")

# Records of Velodyne data packets: Ethernet + IPv4 (20) + UDP (8) + 1206 bytes to port 2368.
data_records = []  # (1-based record number, payload offset)
off, rec = 24, 0
while off + 16 <= len(cap):
    caplen = struct.unpack_from("<I", cap, off + 8)[0]
    rec += 1
    pkt = off + 16
    if caplen == 14 + 20 + 8 + 1206 and struct.unpack_from(">H", cap, pkt + 14 + 20 + 2)[0] == 2368:
        data_records.append((rec, pkt + 14 + 20 + 8))
    off = pkt + caplen
c.check(len(data_records) > 1000, f"data packets found ({len(data_records)})")

# Break the first block flag (FF EE) of three of them.
bad = [data_records[k] for k in (7, 300, 1200)]
for _, p in bad:
    cap[p:p + 2] = b"\x00\x00"
with open(pcap, "wb") as f:
    f.write(cap)
bad_records = [r for r, _ in bad]

out = os.path.join(d, "out.h5")
p = run("build", log, "-o", out)
want = "3 corrupt (records " + ", ".join(map(str, bad_records)) + ")"
c.check(want in p.stdout, f"summary says {want!r}: {p.stdout!r}")
c.check(f"lidar packets   {len(data_records) - 3} decoded" in p.stdout, "the other packets decoded")
card_want = "3 corrupt packets skipped (records " + ", ".join(map(str, bad_records)) + ")"
with open(os.path.join(d, "out.card.md")) as f:
    card = f.read()
c.check("## Validation findings" in card and card_want in card, f"card names the packets: {card_want!r}")
c.check(f"record {bad_records[0]}:" in card, "card quotes the first one's reason with its record")
with h5py.File(out, "r") as f:
    embedded = f["dataset_card"][()]
    embedded = embedded.decode() if isinstance(embedded, bytes) else str(embedded)
    c.check(card_want in embedded, "/dataset_card names them too")
c.finish()
