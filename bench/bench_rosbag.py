#!/usr/bin/python3
"""avtruth bench: a ROS 2 bag's import + build against the pcap path on the same packets.

    bench_rosbag.py AVTRUTH [--seconds S] [--lidar MODEL] [--rounds N]

A synthetic log's capture (`avtruth synth --cameras 0`; built alone with an identity
calib.yaml, as the import writes it) is written as two bags holding its packets as
velodyne_msgs/VelodyneScan messages (one per ~0.1 s, as the ROS driver publishes them):
sqlite3 storage (tests/rosbag/rosbag_writer.py) and MCAP with zstd chunks of ~4 MB (written
here, compressed by the zstd tool). Each round times, interleaved: `build` of the pcap log,
`import rosbag2` + `build` of each bag. Reported: the median of each, as M points/s (points in
the output file) and as a ratio to the pcap path measured in the same rounds."""
import glob
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "rosbag"))
import rosbag_writer as rw  # noqa: E402

TOPIC = ("/velodyne_packets", "velodyne_msgs/msg/VelodyneScan")


def mcap(path, messages):
    """Chunked MCAP (MCAP spec), zstd chunks of about 4 MB, message indexes omitted."""
    def rec(op, body):
        return struct.pack("<BQ", op, len(body)) + body

    def s(x):
        return struct.pack("<I", len(x)) + x.encode()
    out = bytearray(b"\x89MCAP0\r\n" + rec(1, s("ros2") + s("bench")))
    pending = bytearray(rec(3, struct.pack("<H", 1) + s(TOPIC[1]) + s("ros2msg") + struct.pack("<I", 0)))
    pending += rec(4, struct.pack("<HH", 1, 1) + s(TOPIC[0]) + s("cdr") + struct.pack("<I", 0))
    times = []

    def flush():
        z = subprocess.run(["zstd", "-q", "-c", "-3"], input=bytes(pending), capture_output=True, check=True).stdout
        body = (struct.pack("<QQQI", min(times), max(times), len(pending), zlib.crc32(pending)) + s("zstd")
                + struct.pack("<Q", len(z)) + z)
        out.extend(rec(6, body))
    for seq, (t, data) in enumerate(messages):
        pending += rec(5, struct.pack("<HIQQ", 1, seq, t, t) + data)
        times.append(t)
        if len(pending) > 4 << 20:
            flush()
            pending.clear()
            times.clear()
    if pending:
        flush()
    out += rec(15, struct.pack("<I", 0)) + rec(2, struct.pack("<QQI", 0, 0, 0)) + b"\x89MCAP0\r\n"
    open(path, "wb").write(out)


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def points(h5):
    import h5py
    with h5py.File(h5) as f:
        return f["lidar/xyz"].shape[0]


def main():
    avt = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    seconds, lidar, rounds = args.get("--seconds", "10"), args.get("--lidar", "vlp32c"), int(args.get("--rounds", "5"))
    tmp = tempfile.mkdtemp(prefix="avt-bench-rosbag-")
    try:
        log = os.path.join(tmp, "log")
        subprocess.run([avt, "synth", log, "--seconds", seconds, "--cameras", "0", "--lidar", lidar], check=True,
                       capture_output=True)
        recs = [(t, p) for t, port, p in rw.pcap_records(glob.glob(os.path.join(log, "lidar", "*.pcap"))[0])
                if port == 2368]
        per_msg = max(1, len(recs) // (int(float(seconds) * 10)))
        msgs = []
        for i in range(0, len(recs), per_msg):
            chunk = recs[i:i + per_msg]
            msgs.append((chunk[-1][0] + 1000, rw.velodyne_scan(chunk[0][0], "velodyne", chunk)))
        # the pcap path on the same packets: the capture and a calib.yaml like the import's
        ref = os.path.join(tmp, "ref")
        os.makedirs(os.path.join(ref, "lidar"))
        os.symlink(glob.glob(os.path.join(log, "lidar", "*.pcap"))[0], os.path.join(ref, "lidar", "capture.pcap"))
        open(os.path.join(ref, "calib.yaml"), "w").write(
            "version: 1\nlidar:\n  model: velodyne\n  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\n"
            "cameras: []\n")
        rw.write_bag(os.path.join(tmp, "bag"), [TOPIC], [(0, t, d) for t, d in msgs])
        mcap(os.path.join(tmp, "bag.mcap"), msgs)
        for name in ("ref/lidar/capture.pcap", "bag", "bag.mcap"):
            p = os.path.join(tmp, name)
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs) \
                if os.path.isdir(p) else os.path.getsize(p)
            print(f"{name}: {size / 1e6:.1f} MB")
        res = {"pcap build": [], "sqlite3 import": [], "sqlite3 import+build": [], "mcap import": [],
               "mcap import+build": []}
        for r in range(rounds):
            res["pcap build"].append(timed([avt, "build", ref, "-o", os.path.join(tmp, "a.h5")]))
            for kind, src in (("sqlite3", "bag"), ("mcap", "bag.mcap")):
                dst = os.path.join(tmp, "imp")
                shutil.rmtree(dst, ignore_errors=True)
                ti = timed([avt, "import", "rosbag2", os.path.join(tmp, src), dst])
                tb = timed([avt, "build", dst, "-o", os.path.join(tmp, "b.h5")])
                res[f"{kind} import"].append(ti)
                res[f"{kind} import+build"].append(ti + tb)
        n = points(os.path.join(tmp, "a.h5"))
        if n != points(os.path.join(tmp, "b.h5")):
            sys.exit("the bag and the pcap gave different point counts")
        base = statistics.median(res["pcap build"])
        print(f"{lidar}, {seconds} s, {len(recs)} packets in {len(msgs)} messages, {n} points, "
              f"median of {rounds} interleaved rounds:")
        print("| path | median s | M points/s | time vs pcap build |")
        print("|---|---|---|---|")
        for k, v in res.items():
            m = statistics.median(v)
            print(f"| {k} | {m:.3f} | {n / m / 1e6:.1f} | {m / base:.2f}x |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
