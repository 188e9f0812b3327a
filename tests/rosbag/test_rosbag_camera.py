#!/usr/bin/python3
"""A bag with camera topics builds with the same 2D boxes as the equivalent PNG log.

A synthetic log (`avtruth synth`, two cameras) is written into a ROS 2 bag by
rosbag_writer.py (Python sqlite3 and CDR by hand): its pcap packets as VelodyneScan messages
(packet stamp = record time), camera `front` as sensor_msgs/Image bgr8 (pixels decoded by
OpenCV), camera `front_left` as CompressedImage holding the PNG bytes, a CameraInfo per camera
(plumb_bob), /tf_static (base_link -> velodyne -> each camera's optical frame, rotations as
quaternions computed here) and /tf (odom -> base_link from poses.csv). The bag is imported, the
log's labels/ copied beside it (bags carry no 3D labels), and both logs are built.

Expected: the same points, the same image pairing, the same 2D boxes (box3d_index exactly,
xyxy within 1e-3 px: lidar_T_cam goes through a quaternion and back), the Image frames'
pixels equal to the original PNGs (OpenCV), the CompressedImage frames byte-identical."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402
import rosbag_writer as rw  # noqa: E402

h5py, np, cv2, yaml = need("h5py", "numpy", "cv2", "yaml")


def make_bag(log, bag):
    calib = yaml.safe_load(open(os.path.join(log, "calib.yaml")))
    topics = [("/velodyne_packets", "velodyne_msgs/msg/VelodyneScan"), ("/tf_static", "tf2_msgs/msg/TFMessage"),
              ("/tf", "tf2_msgs/msg/TFMessage")]
    msgs = []
    recs = rw.pcap_records(glob.glob(os.path.join(log, "lidar", "*.pcap"))[0])
    data = [(t, p) for t, port, p in recs if port == 2368]
    t0 = data[0][0]
    for i in range(0, len(data), 75):  # ~ one VelodyneScan per sweep
        chunk = data[i:i + 75]
        msgs.append((0, chunk[-1][0] + 1000, rw.velodyne_scan(chunk[0][0], "velodyne", chunk)))
    L = np.array(calib["lidar"]["lidar_T_ego"], float).reshape(4, 4)
    ego_T_lidar = np.linalg.inv(L)
    statics = [(t0, "base_link", "velodyne", ego_T_lidar[:3, 3].tolist(), rw.quaternion(ego_T_lidar[:3, :3].tolist()))]
    for cam in calib["cameras"]:
        name = cam["name"]
        M = np.array(cam["lidar_T_cam"], float).reshape(4, 4)
        statics.append((t0, "velodyne", name + "_optical", M[:3, 3].tolist(), rw.quaternion(M[:3, :3].tolist())))
        compressed = name != "front"
        topics.append((f"/{name}/image_raw" + ("/compressed" if compressed else ""),
                       "sensor_msgs/msg/" + ("CompressedImage" if compressed else "Image")))
        img_topic = len(topics) - 1
        topics.append((f"/{name}/camera_info", "sensor_msgs/msg/CameraInfo"))
        info_topic = len(topics) - 1
        for png in sorted(glob.glob(os.path.join(log, "cameras", name, "*.png"))):
            t = int(os.path.basename(png)[:-4])
            if compressed:
                body = rw.compressed_image(t, name + "_optical", "png", open(png, "rb").read())
            else:
                body = rw.image(t, name + "_optical", cv2.imread(png, cv2.IMREAD_COLOR))
            msgs.append((img_topic, t + 2_000_000, body))
            msgs.append((info_topic, t + 2_000_000,
                         rw.camera_info(t, name + "_optical", cam["width"], cam["height"], cam["K"], cam["distortion"])))
    msgs.append((1, t0, rw.tf_message(statics)))
    for line in open(os.path.join(log, "poses.csv")).read().splitlines()[1:]:
        t, x, y, z, qw, qx, qy, qz = line.split(",")
        msgs.append((2, int(t), rw.tf_message([(int(t), "odom", "base_link", [float(x), float(y), float(z)],
                                               [float(qw), float(qx), float(qy), float(qz)])])))
    rw.write_bag(bag, topics, msgs)


def main():
    c = Checker()
    tmp = tmpdir()
    try:
        log = os.path.join(tmp, "log")
        run("synth", log, "--seconds", "0.5", "--cameras", "2", "--width", "320", "--height", "200")
        bag = os.path.join(tmp, "bag")
        make_bag(log, bag)
        imp = os.path.join(tmp, "imported")
        print(run("import", "rosbag2", bag, imp).stdout.strip())
        shutil.copytree(os.path.join(log, "labels"), os.path.join(imp, "labels"))
        run("build", log, "-o", log + ".h5")
        run("build", imp, "-o", imp + ".h5")
        with h5py.File(log + ".h5") as a, h5py.File(imp + ".h5") as b:
            for k in ("lidar/xyz", "lidar/label", "frames/timestamp_ns", "frames/ego_pose", "boxes3d/center"):
                if k == "frames/ego_pose":
                    c.check(np.allclose(a[k][:], b[k][:], atol=1e-9), f"{k} differs")
                else:
                    c.check(np.array_equal(a[k][:], b[k][:]), f"{k} differs")
            cams = sorted(a["cameras"].keys())
            c.check(cams == sorted(b["cameras"].keys()), f"cameras {cams} vs {sorted(b['cameras'].keys())}")
            total = 0
            for cam in cams:
                A, B = a["cameras"][cam], b["cameras"][cam]
                c.check(np.array_equal(A["timestamp_ns"][:], B["timestamp_ns"][:]), f"{cam}: pairing differs")
                for k in ("boxes2d/offset", "boxes2d/box3d_index"):
                    c.check(np.array_equal(A[k][:], B[k][:]), f"{cam}: {k} differs")
                xa, xb = A["boxes2d/xyxy"][:], B["boxes2d/xyxy"][:]
                c.check(xa.shape == xb.shape and np.allclose(xa, xb, atol=1e-3, equal_nan=True),
                        f"{cam}: 2D boxes differ by {np.nanmax(np.abs(xa - xb)) if xa.shape == xb.shape else xa.shape}")
                c.check(np.allclose(A["K"][:], B["K"][:], rtol=0, atol=0), f"{cam}: K differs")
                total += xa.shape[0]
                print(f"{cam}: {int((A['timestamp_ns'][:] != np.iinfo(np.int64).min).sum())} paired frames, "
                      f"{xa.shape[0]} 2D boxes")
            c.check(total > 0, "no 2D boxes at all: the comparison would prove nothing")
        for png in sorted(glob.glob(os.path.join(log, "cameras", "*", "*.png"))):
            cam, name = png.split(os.sep)[-2:]
            out = os.path.join(imp, "cameras", cam, name)
            if cam == "front":
                c.check(os.path.exists(out) and np.array_equal(cv2.imread(out), cv2.imread(png)),
                        f"{cam}/{name}: pixels differ")
            else:
                c.check(os.path.exists(out) and open(out, "rb").read() == open(png, "rb").read(),
                        f"{cam}/{name}: bytes differ")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
