#!/usr/bin/python3
"""The two real ROS 2 bags (../shared/data/rosbag2, sqlite3 storage, velodyne_msgs/VelodyneScan)
imported with `avtruth import rosbag2` and built give exactly the points of the pcaps made from
the same packets (../shared/data/velodyne, built from a minimal log written here by hand).

Also: the imported capture holds the bag's packets in order with the packets' own stamps as
record times (read back with Python's sqlite3 and a CDR walk written here, not the C decoder);
the same bag converted to MCAP (by a writer in this test) imports to the same capture, as a
single file and as a rosbag2 directory, and so does the .db3 in a directory without
metadata.yaml, and so do the bag compressed by rosbag2 (zstd, MESSAGE and FILE modes); with
the packets also on a second topic the import is refused naming both, and
`--topic` picks either; an unknown --topic type is refused naming the accepted ones; an MCAP
cut by a power loss imports the messages before the cut with status 0 and a warning naming the
byte; a damaged bag (a packet count past the message, a cut file followed by more files)
fails with status 1, an error naming the file, and nothing left at DST."""
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from common import Checker, need, run, skip, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")
CASES = [("nebula_vlp16", "velodyne/vlp16_dual.pcap", "vlp16"),
         ("nebula_vlp32", "velodyne/vlp32c_strongest.pcap", "vlp32c")]
COLUMNS = ["lidar/xyz", "lidar/intensity", "lidar/ring", "lidar/time_ns", "lidar/return_type",
           "frames/timestamp_ns", "frames/start_ns", "frames/end_ns", "frames/point_offset",
           "frames/packets"]


def pcap_records(path):
    """(seconds, microseconds, UDP payload) of each record of a classic little-endian pcap."""
    d = open(path, "rb").read()
    assert struct.unpack("<I", d[:4])[0] == 0xA1B2C3D4, path
    out, o = [], 24
    while o < len(d):
        sec, usec, cap, _ = struct.unpack("<IIII", d[o:o + 16])
        frame = d[o + 16:o + 16 + cap]
        ihl = (frame[14] & 15) * 4
        out.append((sec, usec, frame[14 + ihl + 8:]))
        o += 16 + cap
    return out


def bag_packets(db3):
    """Per message, (stamp_ns, 1206 bytes) of every VelodynePacket, from the CDR by hand: 4-byte
    encapsulation, Time (int32, uint32), string frame_id (uint32 length with NUL), uint32 count,
    then per packet Time + uint8[1206], each aligned to 4 from the byte after the header."""
    out = []
    con = sqlite3.connect(db3)
    for (data,) in con.execute("SELECT data FROM messages ORDER BY timestamp, id"):
        out.append([])
        assert data[:2] == b"\x00\x01"
        p = data[4:]
        pos = 8
        n = struct.unpack_from("<I", p, pos)[0]
        pos += 4 + n
        pos = (pos + 3) & ~3
        count = struct.unpack_from("<I", p, pos)[0]
        pos += 4
        for _ in range(count):
            pos = (pos + 3) & ~3
            sec, nsec = struct.unpack_from("<iI", p, pos)
            out[-1].append((sec * 10**9 + nsec, bytes(p[pos + 8:pos + 8 + 1206])))
            pos += 8 + 1206
    con.close()
    return out


def to_mcap(db3, out, encoding="cdr"):
    """The bag's messages as an unchunked MCAP file (MCAP spec: magic, Header, Schema, Channel,
    Messages, DataEnd, Footer, magic; CRCs 0 = not computed). Returns each message's end offset."""
    def rec(op, body):
        return struct.pack("<BQ", op, len(body)) + body

    def s(x):
        return struct.pack("<I", len(x)) + x.encode()
    con = sqlite3.connect(db3)
    (tid, name, typ), = con.execute("SELECT id, name, type FROM topics")
    b = b"\x89MCAP0\r\n" + rec(1, s("ros2") + s("test"))
    b += rec(3, struct.pack("<H", 1) + s(typ) + s("ros2msg") + struct.pack("<I", 0))
    b += rec(4, struct.pack("<HH", 1, 1) + s(name) + s(encoding) + struct.pack("<I", 0))
    ends = []
    for seq, (ts, data) in enumerate(con.execute("SELECT timestamp, data FROM messages ORDER BY timestamp")):
        b += rec(5, struct.pack("<HIQQ", 1, seq, ts, ts) + data)
        ends.append(len(b))
    b += rec(15, struct.pack("<I", 0)) + rec(2, struct.pack("<QQI", 0, 0, 0)) + b"\x89MCAP0\r\n"
    open(out, "wb").write(b)
    return ends


def main():
    data = os.environ.get("AVT_SHARED_DATA", "")
    if not os.path.isdir(os.path.join(data, "rosbag2")):
        skip(f"shared data not found at {data!r}")
    c = Checker()
    os.environ["AVT_PROGRESS_SECONDS"] = "0"  # a progress line per message (stderr is not a terminal)

    def progress_ok(p, what):
        """import's progress: percent rising to 100, the messages counted up to the summary's count."""
        pat = re.compile(r"avtruth: importing +(\d+)%  (\d+) messages")
        m = [pat.match(l) for l in p.stderr.splitlines() if l.startswith("avtruth: importing")]
        total = re.search(r"(\d+) messages read", p.stdout)
        ok = bool(m) and all(m) and total is not None
        pct = [int(x.group(1)) for x in m] if ok else []
        # the closing line says 100 % whatever the fraction was: some line before it must lie between
        c.check(ok and pct == sorted(pct) and pct[-1] == 100 and any(0 < x < 100 for x in pct[:-1])
                and int(m[-1].group(2)) == int(total.group(1)), f"{what}: import progress {p.stderr[-300:]!r}")

    h = run("import", "rosbag2", "--help", check=False)
    c.check(h.returncode == 0 and "--topic TYPE=TOPIC" in h.stdout and "tf_static" in h.stdout,
            f"import rosbag2 --help: {h.returncode} {h.stdout!r}")
    tmp = tmpdir()
    try:
        for bag, pcap, model in CASES:
            bag_dir = os.path.join(data, "rosbag2", bag)
            db3 = [os.path.join(bag_dir, f) for f in os.listdir(bag_dir) if f.endswith(".db3")][0]
            imported = os.path.join(tmp, bag)
            p = run("import", "rosbag2", bag_dir, imported)
            print(p.stdout.strip())
            progress_ok(p, bag)
            q = run("import", "rosbag2", bag_dir, imported + "_quiet", "--quiet")
            c.check("importing" not in q.stderr, f"{bag}: --quiet still reports progress: {q.stderr[:200]!r}")
            got = pcap_records(os.path.join(imported, "lidar", "velodyne.pcap"))
            per_msg = bag_packets(db3)
            want = [p for m in per_msg for p in m]
            c.check([g[2] for g in got] == [w[1] for w in want], f"{bag}: capture payloads != the bag's packets")
            c.check([(g[0], g[1]) for g in got] == [(w[0] // 10**9, w[0] % 10**9 // 1000) for w in want],
                    f"{bag}: record times != the packets' stamps")
            # the pcap path: the same packets as a capture, a calib.yaml written by hand
            ref = os.path.join(tmp, bag + "_pcap")
            os.makedirs(os.path.join(ref, "lidar"))
            os.symlink(os.path.join(data, pcap), os.path.join(ref, "lidar", model + ".pcap"))
            with open(os.path.join(ref, "calib.yaml"), "w") as f:
                f.write(f"version: 1\nlidar:\n  model: {model}\n"
                        "  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\ncameras: []\n")
            run("build", imported, "-o", imported + ".h5")
            run("build", ref, "-o", ref + ".h5")
            with h5py.File(imported + ".h5") as a, h5py.File(ref + ".h5") as b:
                n = b["lidar/xyz"].shape[0]
                c.check(n > 10000, f"{bag}: only {n} points from the pcap")
                for k in COLUMNS:
                    c.check(np.array_equal(a[k][:], b[k][:]), f"{bag}: {k} differs from the pcap path")
                print(f"{bag}: {n} points, {b['frames/timestamp_ns'].shape[0]} sweeps identical to {pcap}")
            # MCAP storage of the same messages: the same capture
            mc = os.path.join(tmp, bag + ".mcap")
            ends = to_mcap(db3, mc)
            progress_ok(run("import", "rosbag2", mc, imported + "_mcap"), bag + " (MCAP)")
            c.check(open(os.path.join(imported + "_mcap", "lidar", "velodyne.pcap"), "rb").read()
                    == open(os.path.join(imported, "lidar", "velodyne.pcap"), "rb").read(),
                    f"{bag}: MCAP copy imports to another capture")
            # a channel in another message encoding is not decoded as CDR
            mj = os.path.join(tmp, bag + "_json.mcap")
            to_mcap(db3, mj, "json")
            p = run("import", "rosbag2", mj, mj + "_out", check=False)
            c.check(p.returncode == 1 and "no LiDAR topic" in p.stderr, f"json channel: {p.returncode} {p.stderr!r}")
            (topic0,), = sqlite3.connect(db3).execute("SELECT name FROM topics").fetchall()
            p = run("import", "rosbag2", mj, mj + "_out", "--topic", f"velodyne={topic0}", check=False)
            c.check(p.returncode == 1 and "encoded as 'json'" in p.stderr, f"json --topic: {p.returncode} {p.stderr!r}")
            # the same MCAP as a rosbag2 directory (metadata.yaml, storage mcap), and the .db3 in a
            # directory without metadata.yaml (a recording cut before it was written)
            d_mcap, d_bare = os.path.join(tmp, bag + "_mcapdir"), os.path.join(tmp, bag + "_bare")
            os.makedirs(d_mcap)
            os.makedirs(d_bare)
            shutil.copy(mc, os.path.join(d_mcap, "rec_0.mcap"))
            open(os.path.join(d_mcap, "metadata.yaml"), "w").write(
                "rosbag2_bagfile_information:\n  version: 8\n  storage_identifier: mcap\n"
                "  relative_file_paths:\n    - rec_0.mcap\n  compression_format: \"\"\n")
            os.symlink(db3, os.path.join(d_bare, "rec_0.db3"))
            for d in (d_mcap, d_bare):
                run("import", "rosbag2", d, d + "_out")
                c.check(open(os.path.join(d + "_out", "lidar", "velodyne.pcap"), "rb").read()
                        == open(os.path.join(imported, "lidar", "velodyne.pcap"), "rb").read(),
                        f"{os.path.basename(d)}: another capture")
            # rosbag2's own compression (zstd, by the zstd tool): each message (MESSAGE), each storage
            # file (FILE, .db3 and .mcap); an unknown format is refused naming zstd
            def zstd(data):
                return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
            d_msg, d_fdb, d_fmc, d_bz = (os.path.join(tmp, bag + s) for s in ("_zmsg", "_zfdb", "_zfmc", "_bz2"))
            for d in (d_msg, d_fdb, d_fmc, d_bz):
                os.makedirs(d)
            shutil.copy(db3, os.path.join(d_msg, "r_0.db3"))
            con = sqlite3.connect(os.path.join(d_msg, "r_0.db3"))
            for row, blob in con.execute("SELECT id, data FROM messages").fetchall():
                con.execute("UPDATE messages SET data = ? WHERE id = ?", (zstd(blob), row))
            con.commit()
            con.close()
            open(os.path.join(d_fdb, "r_0.db3.zstd"), "wb").write(zstd(open(db3, "rb").read()))
            open(os.path.join(d_fmc, "r_0.mcap.zstd"), "wb").write(zstd(open(mc, "rb").read()))
            for d, name, mode, fmt in ((d_msg, "r_0.db3", "MESSAGE", "zstd"), (d_fdb, "r_0.db3.zstd", "FILE", "zstd"),
                                       (d_fmc, "r_0.mcap.zstd", "FILE", "zstd"), (d_bz, "r_0.db3", "FILE", "bz2")):
                open(os.path.join(d, "metadata.yaml"), "w").write(
                    "rosbag2_bagfile_information:\n  storage_identifier: "
                    f"{'mcap' if 'mcap' in name else 'sqlite3'}\n  relative_file_paths:\n    - {name}\n"
                    f"  compression_format: {fmt}\n  compression_mode: {mode}\n")
            for d in (d_msg, d_fdb, d_fmc):
                p = run("import", "rosbag2", d, d + "_out", check=False)
                c.check(p.returncode == 0 and open(os.path.join(d + "_out", "lidar", "velodyne.pcap"), "rb").read()
                        == open(os.path.join(imported, "lidar", "velodyne.pcap"), "rb").read(),
                        f"{os.path.basename(d)}: {p.returncode} {p.stderr!r} or another capture")
            p = run("import", "rosbag2", d_bz, d_bz + "_out", check=False)
            c.check(p.returncode == 1 and "compression_format \"bz2\" (supported: zstd)" in p.stderr and
                    not os.path.exists(d_bz + "_out"), f"bz2-compressed bag: {p.returncode} {p.stderr!r}")
            # two packet topics: refused, naming both, unless --topic picks one
            two = os.path.join(tmp, bag + "_two")
            os.makedirs(two)
            shutil.copy(db3, os.path.join(two, "two.db3"))
            con = sqlite3.connect(os.path.join(two, "two.db3"))
            con.execute("INSERT INTO topics SELECT id + 1, name || '_copy', type, serialization_format, "
                        "offered_qos_profiles FROM topics")
            con.execute("INSERT INTO messages(topic_id, timestamp, data) SELECT topic_id + 1, timestamp, data "
                        "FROM messages")
            con.commit()
            (topic,), = con.execute("SELECT name FROM topics WHERE id = 1").fetchall()
            con.close()
            p = run("import", "rosbag2", two, two + "_out", check=False)
            c.check(p.returncode == 1 and topic in p.stderr and topic + "_copy" in p.stderr
                    and "--topic velodyne=" in p.stderr, f"{bag}: two topics: {p.returncode} {p.stderr!r}")
            run("import", "rosbag2", two, two + "_out", "--topic", f"velodyne={topic}_copy")
            c.check(pcap_records(os.path.join(two + "_out", "lidar", "velodyne.pcap")) == got,
                    f"{bag}: --topic velodyne={topic}_copy gave another capture")
            p = run("import", "rosbag2", two, two + "_img", "--topic", f"image={topic}", check=False)
            c.check(p.returncode == 1 and "is a velodyne_msgs/msg/VelodyneScan, image takes sensor_msgs/msg/Image" in p.stderr
                    and not os.path.exists(two + "_img"), f"{bag}: --topic image=packets: {p.returncode} {p.stderr!r}")
            p = run("import", "rosbag2", two, two + "_bad", "--topic", "lidar=/x", check=False)
            c.check(p.returncode == 2 and "velodyne" in p.stderr and not os.path.exists(two + "_bad"),
                    f"{bag}: --topic lidar=/x: {p.returncode} {p.stderr!r}")
            # cut by a power loss in the middle of message k: the packets of the messages before it,
            # status 0 and a warning naming the cut; a cut file followed by more files: an error
            k = len(ends) // 2
            cut = os.path.join(tmp, bag + "_cut.mcap")
            open(cut, "wb").write(open(mc, "rb").read()[:ends[k] - 1000])
            p = run("import", "rosbag2", cut, imported + "_cut", check=False)
            c.check(p.returncode == 0 and "cut" in p.stderr and f"byte {ends[k - 1]}" in p.stderr,
                    f"{bag} cut: {p.returncode} {p.stderr!r}")
            print(f"{bag} cut: {p.stderr.strip()}")
            n_before = sum(len(m) for m in per_msg[:k])
            if p.returncode == 0:
                c.check(pcap_records(os.path.join(imported + "_cut", "lidar", "velodyne.pcap")) == got[:n_before],
                        f"{bag} cut: not the {n_before} packets of the {k} messages before the cut")
            cut_first = os.path.join(tmp, bag + "_cut_first")
            os.makedirs(cut_first)
            shutil.copy(cut, os.path.join(cut_first, "a_0.mcap"))
            shutil.copy(mc, os.path.join(cut_first, "a_1.mcap"))
            open(os.path.join(cut_first, "metadata.yaml"), "w").write(
                "rosbag2_bagfile_information:\n  storage_identifier: mcap\n  relative_file_paths:\n"
                "    - a_0.mcap\n    - a_1.mcap\n")
            # damaged: a VelodyneScan whose packet count is too large, a cut file followed by more
            bad_db = os.path.join(tmp, bag + "_bad.db3")
            shutil.copy(db3, bad_db)
            con = sqlite3.connect(bad_db)
            row, blob = con.execute("SELECT id, data FROM messages ORDER BY timestamp LIMIT 1").fetchone()
            blob = bytearray(blob)
            hdr = 4 + 8 + 4 + struct.unpack_from("<I", blob, 12)[0]
            hdr = 4 + ((hdr - 4 + 3) & ~3)
            struct.pack_into("<I", blob, hdr, 10**6)
            con.execute("UPDATE messages SET data = ? WHERE id = ?", (bytes(blob), row))
            con.commit()
            con.close()
            for src, what in ((cut_first, "a_0.mcap"), (bad_db, "packets")):
                dst = os.path.join(tmp, f"{bag}_{what}_out")
                p = run("import", "rosbag2", src, dst, check=False)
                c.check(p.returncode == 1 and (what if what.endswith(".mcap") else os.path.basename(src)) in p.stderr,
                        f"{bag} {what}: status {p.returncode}, stderr {p.stderr!r}")
                c.check(not os.path.exists(dst) and not os.path.exists(dst + ".partial"),
                        f"{bag} {what}: output left behind")
                print(f"{bag} {what}: {p.stderr.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
