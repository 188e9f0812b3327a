#!/usr/bin/python3
"""Ouster packets and PointCloud2 from bags (written by rosbag_writer.py).

Ouster: the real OS-0-128 capture (../shared/data/ouster) as ouster_sensor_msgs/PacketMsg on
/ouster/lidar_packets and /ouster/imu_packets (bag receive time = the record time), its
metadata JSON as std_msgs/String on /ouster/metadata. Imported and built, it must give exactly
the points of the capture + JSON built as a log; the imported capture holds the same
datagrams on 7502 and 7503.

PointCloud2: the KITTI sweep (../shared/data/kitti, float32 x y z reflectance) as one
little-endian and one big-endian (CDR_BE, is_bigendian) message; each imported lidar/<t>.bin
must hold the original floats."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, skip, tmpdir  # noqa: E402
import rosbag_writer as rw  # noqa: E402

h5py, np = need("h5py", "numpy")
IDENTITY = "version: 1\nlidar:\n  model: {}\n  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\ncameras: []\n"


def main():
    data = os.environ.get("AVT_SHARED_DATA", "")
    cap = os.path.join(data, "ouster", "OS-0-128-U1_v2.3.0_1024x10")
    kitti = os.path.join(data, "kitti", "object", "velodyne", "000000.bin")
    if not os.path.exists(cap + ".pcap") or not os.path.exists(kitti):
        skip(f"shared data not found at {data!r}")
    c = Checker()
    tmp = tmpdir()
    try:
        # Ouster
        recs = rw.pcap_records(cap + ".pcap")
        topics = [("/ouster/lidar_packets", "ouster_sensor_msgs/msg/PacketMsg"),
                  ("/ouster/imu_packets", "ouster_sensor_msgs/msg/PacketMsg"),
                  ("/ouster/metadata", "std_msgs/msg/String")]
        msgs = [(2, recs[0][0] - 1, rw.string_msg(open(cap + ".json").read()))]
        msgs += [(0 if port == 7502 else 1, t, rw.bytes_msg(p)) for t, port, p in recs]
        bag = os.path.join(tmp, "ouster_bag")
        rw.write_bag(bag, topics, msgs)
        imp = os.path.join(tmp, "ouster_imported")
        print(run("import", "rosbag2", bag, imp).stdout.strip())
        got = rw.pcap_records(os.path.join(imp, "lidar", "ouster.pcap"))
        c.check([(t // 1000, port, p) for t, port, p in got] == [(t // 1000, port, p) for t, port, p in recs],
                "imported capture: datagrams, ports or times differ")
        c.check(open(os.path.join(imp, "lidar", "ouster.json")).read() == open(cap + ".json").read(),
                "metadata JSON differs")
        ref = os.path.join(tmp, "ouster_pcap")
        os.makedirs(os.path.join(ref, "lidar"))
        os.symlink(cap + ".pcap", os.path.join(ref, "lidar", "os.pcap"))
        os.symlink(cap + ".json", os.path.join(ref, "lidar", "os.json"))
        open(os.path.join(ref, "calib.yaml"), "w").write(IDENTITY.format("os0-128"))
        run("build", imp, "-o", imp + ".h5")
        run("build", ref, "-o", ref + ".h5")
        with h5py.File(imp + ".h5") as a, h5py.File(ref + ".h5") as b:
            n = b["lidar/xyz"].shape[0]
            c.check(n > 10000, f"only {n} points from the Ouster capture")
            for k in ("lidar/xyz", "lidar/intensity", "lidar/ring", "lidar/time_ns", "frames/timestamp_ns"):
                c.check(np.array_equal(a[k][:], b[k][:]), f"ouster: {k} differs from the pcap path")
            print(f"ouster: {n} points identical to the capture's")

        # PointCloud2, little- and big-endian
        pts = np.fromfile(kitti, dtype="<f4").reshape(-1, 4)
        t0 = 1_700_000_000_000_000_000
        bag = os.path.join(tmp, "points_bag")
        rw.write_bag(bag, [("/points", "sensor_msgs/msg/PointCloud2")],
                     [(0, t0, rw.pointcloud2(t0, "velodyne", pts)),
                      (0, t0 + 100_000_000, rw.pointcloud2(t0 + 100_000_000, "velodyne", pts, be=True))])
        imp = os.path.join(tmp, "points_imported")
        print(run("import", "rosbag2", bag, imp).stdout.strip())
        files = sorted(glob.glob(os.path.join(imp, "lidar", "*.bin")))
        c.check([os.path.basename(f) for f in files] == [f"{t0}.bin", f"{t0 + 100_000_000}.bin"],
                f"clouds written: {files}")
        for f in files:
            c.check(np.array_equal(np.fromfile(f, dtype="<f4").reshape(-1, 4), pts), f"{f}: points differ")
        run("build", imp, "-o", imp + ".h5")
        with h5py.File(imp + ".h5") as a:
            c.check(a["lidar/xyz"].shape[0] == 2 * len(pts), f"built {a['lidar/xyz'].shape[0]} points")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
