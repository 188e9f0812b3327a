#!/usr/bin/env python3
"""Writes the hand-made seeds of corpus/fuzz_pointcloud, corpus/fuzz_calib (one small valid file
per calibration format and log.yaml) and the link-layer seeds of corpus/fuzz_lidar_pcap
(pcapng, Linux SLL2, 802.1Q VLAN). The Velodyne payloads are the first
two 1206-byte data packets (UDP port 2368) of ../shared/data/velodyne/vlp16_strongest_2014.pcap.
Run from anywhere: python3 tests/fuzz/make_seeds.py"""
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data", "velodyne", "vlp16_strongest_2014.pcap")


def write(target, name, data):
    path = os.path.join(HERE, "corpus", target, name)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{path}: {len(data)} bytes")


# ---- point clouds ----

def pcd_header(fields, sizes, types, n, data, width=None, height=1):
    return (f"# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS {' '.join(fields)}\n"
            f"SIZE {' '.join(map(str, sizes))}\nTYPE {' '.join(types)}\nCOUNT {' '.join('1' * len(fields))}\n"
            f"WIDTH {width or n}\nHEIGHT {height}\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {data}\n").encode()


FMT = {("F", 4): "f", ("F", 8): "d", ("U", 1): "B", ("U", 2): "H", ("U", 4): "I",
       ("I", 1): "b", ("I", 2): "h", ("I", 4): "i"}


def pcd_binary(fields, sizes, types, points, **kw):
    rec = "<" + "".join(FMT[(t, s)] for t, s in zip(types, sizes))
    return pcd_header(fields, sizes, types, len(points), "binary", **kw) + b"".join(
        struct.pack(rec, *p) for p in points)


def pcd_ascii(fields, sizes, types, lines, **kw):
    return pcd_header(fields, sizes, types, len(lines), "ascii", **kw) + "".join(l + "\n" for l in lines).encode()


def pointcloud_seeds():
    t = "fuzz_pointcloud"
    xyzi = (["x", "y", "z", "intensity"], [4, 4, 4, 4], ["F", "F", "F", "F"])
    pts = [(1.5, -2.0, 0.25, 10.0), (12.0, 3.5, -1.75, 200.0), (-4.0, 0.0, 2.0, 0.5)]
    write(t, "ascii.pcd", pcd_ascii(*xyzi, ["1.5 -2 0.25 10", "12 3.5 -1.75 200", "-4 0 2 0.5"]))
    write(t, "binary.pcd", pcd_binary(["x", "y", "z", "intensity", "ring"], [4, 4, 4, 4, 2],
                                      ["F", "F", "F", "F", "U"], [p + (i,) for i, p in enumerate(pts)]))
    u8 = (["x", "y", "z", "intensity"], [4, 4, 4, 1], ["F", "F", "F", "U"])
    write(t, "intensity_u8_binary.pcd", pcd_binary(*u8, [p[:3] + (int(p[3]),) for p in pts]))
    write(t, "intensity_u8_ascii.pcd", pcd_ascii(*u8, ["1.5 -2 0.25 10", "12 3.5 -1.75 255", "-4 0 2 0"]))
    write(t, "int_types_binary.pcd", pcd_binary(["x", "y", "z", "intensity", "t"], [2, 1, 4, 2, 8],
                                                ["I", "I", "I", "U", "F"],
                                                [(-32768, -128, 2147483647, 65535, 0.5), (1, 2, 3, 4, 1e300)]))
    nan = float("nan")
    # an organized 2x2 cloud as PCL writes it, with "no return" points as nan
    write(t, "nan_ascii.pcd", pcd_ascii(*xyzi, ["1 2 3 4", "nan nan nan 0", "NaN 1 1 1", "5 6 7 nan"],
                                        width=2, height=2))
    write(t, "nan_binary.pcd", pcd_binary(*xyzi, [(1, 2, 3, 4), (nan, nan, nan, 0), (nan, 1, 1, 1), (5, 6, 7, nan)],
                                          width=2, height=2))
    write(t, "inf_ascii.pcd", pcd_ascii(*xyzi, ["1 2 3 4", "1 inf 3 4"]))
    write(t, "truncated_binary.pcd", pcd_binary(*xyzi, pts)[:-7])
    write(t, "kitti.bin", b"".join(struct.pack("<4f", *p) for p in pts + [(nan, nan, nan, 0.0)]))
    write(t, "nuscenes.pcd.bin", b"".join(struct.pack("<5f", *p, 7.0) for p in pts))


# ---- captures ----

def velodyne_payloads(n):
    d = open(DATA, "rb").read()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xA1B2C3D4 and linktype == 1
    out, o = [], 24
    while o < len(d) and len(out) < n:
        sec, usec, incl, _ = struct.unpack("<IIII", d[o:o + 16])
        frame = d[o + 16:o + 16 + incl]
        o += 16 + incl
        if frame[12:14] == b"\x08\x00" and struct.unpack(">H", frame[36:38])[0] == 2368 and incl == 14 + 20 + 8 + 1206:
            out.append((sec, usec, frame[42:]))
    return out


def ipv4_udp(payload, ident):
    udp = struct.pack(">HHHH", 2368, 2368, 8 + len(payload), 0) + payload
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0x4000, 64, 17, 0,
                      bytes([192, 168, 1, 201]), bytes([255] * 4))
    s = sum(struct.unpack(">10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return hdr[:10] + struct.pack(">H", ~s & 0xFFFF) + hdr[12:] + udp


def pcap(linktype, frames):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for sec, usec, f in frames:
        out += struct.pack("<IIII", sec, usec, len(f), len(f)) + f
    return out


def pcapng(frames):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 6 (microseconds), end of options
    idb = block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, 6) + struct.pack("<HH", 0, 0))
    out = shb + idb
    for sec, usec, f in frames:
        ts = sec * 1000000 + usec
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
    return out


def capture_seeds():
    t = "fuzz_lidar_pcap"
    pk = velodyne_payloads(2)
    eth_dst_src = b"\xff" * 6 + bytes.fromhex("60768800 0001")
    eth = [(s, u, eth_dst_src + b"\x08\x00" + ipv4_udp(p, i)) for i, (s, u, p) in enumerate(pk)]
    write(t, "vlp16_two_packets.pcapng", pcapng(eth))
    # SLL2: protocol, reserved, ifindex, ARPHRD_ETHER, PACKET_BROADCAST, address length, address
    sll2 = struct.pack(">HHIHBB8s", 0x0800, 0, 2, 1, 1, 6, bytes.fromhex("607688000001") + b"\0\0")
    write(t, "vlp16_sll2.pcap", pcap(276, [(s, u, sll2 + ipv4_udp(p, i)) for i, (s, u, p) in enumerate(pk)]))
    vlan = eth_dst_src + struct.pack(">HHH", 0x8100, 10, 0x0800)  # 802.1Q tag, VLAN id 10
    write(t, "vlp16_vlan.pcap", pcap(1, [(s, u, vlan + ipv4_udp(p, i)) for i, (s, u, p) in enumerate(pk)]))


# ---- calibration files (calib/; formats in docs/calibration.md) ----

# a camera looking along LiDAR +x: OpenCV axes x right, y down, z forward
CAM_IN_LIDAR = "[0, 0, 1, 1.5, -1, 0, 0, 0.1, 0, -1, 0, -0.2, 0, 0, 0, 1]"


def calib_seeds():
    t = "fuzz_calib"
    write(t, "avtruth.yaml", f"""version: 1
lidar:
  model: vlp16
  lidar_T_ego: [1, 0, 0, -0.8, 0, 1, 0, 0, 0, 0, 1, -1.7, 0, 0, 0, 1]
cameras:
  - name: front
    model: pinhole
    width: 640
    height: 480
    K: [450, 0, 320, 0, 451, 240, 0, 0, 1]
    distortion_model: radtan
    distortion: [-0.3, 0.1, 0.001, -0.0015, -0.02]
    lidar_T_cam: {CAM_IN_LIDAR}
  - name: rear
    model: fisheye
    width: 320
    height: 240
    K: [200, 0, 160, 0, 200, 120, 0, 0, 1]
    distortion_model: equidistant
    distortion: [-0.02, 0.01, -0.003, 0.001]
    lidar_T_cam: [0, 0, -1, -1, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 1]
""".encode())
    write(t, "kitti_object.txt", b"""P0: 700 0 600 0 0 700 180 0 0 0 1 0
P1: 700 0 600 -380 0 700 180 0 0 0 1 0
P2: 700 0 600 45 0 700 180 -0.3 0 0 1 0.005
P3: 700 0 600 -340 0 700 180 2 0 0 1 0.003
R0_rect: 1 0 0 0 1 0 0 0 1
Tr_velo_to_cam: 0 -1 0 0 0 0 -1 -0.08 1 0 0 -0.27
Tr_imu_to_velo: 1 0 0 -0.8 0 1 0 0.3 0 0 1 -0.8
""")
    # KITTI raw: the fuzz target gives calib_cam_to_cam.txt, calib_velo_to_cam.txt and
    # calib_imu_to_velo.txt the same bytes, so one file holds the keys of all three
    write(t, "kitti_raw.txt", b"""calib_time: 09-Jan-2012 13:57:47
corner_dist: 9.950000e-02
S_00: 1392 512
K_00: 980 0 690 0 975 240 0 0 1
D_00: -0.37 0.2 0.001 0.0013 -0.07
R_00: 1 0 0 0 1 0 0 0 1
T_00: 0 0 0
S_rect_00: 1242 375
R_rect_00: 1 0 0 0 1 0 0 0 1
P_rect_00: 720 0 610 0 0 720 170 0 0 0 1 0
S_02: 1392 512
K_02: 960 0 700 0 960 220 0 0 1
D_02: -0.37 0.2 0.001 0.0013 -0.07
R_02: 0 -1 0 1 0 0 0 0 1
T_02: 0.06 -0.001 0.004
S_rect_02: 1242 375
P_rect_02: 720 0 610 45 0 720 170 0.2 0 0 1 0.003
R: 0 -1 0 0 0 -1 1 0 0
T: -0.004 -0.076 -0.27
delta_f: 0 0
delta_c: 0 0
""")
    write(t, "ros.yaml", b"""image_width: 640
image_height: 480
camera_name: narrow
camera_matrix:
  rows: 3
  cols: 3
  data: [450, 0, 320, 0, 451, 240, 0, 0, 1]
distortion_model: rational_polynomial
distortion_coefficients:
  rows: 1
  cols: 8
  data: [-0.3, 0.1, 0.001, -0.0015, -0.02, 0.05, -0.01, 0.002]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [450, 0, 320, 0, 0, 451, 240, 0, 0, 0, 1, 0]
""")
    # the echoed sensor_msgs/CameraInfo message, fisheye
    write(t, "ros_message.yaml", b"""width: 640
height: 480
distortion_model: equidistant
D: [-0.02, 0.01, -0.003, 0.001]
K: [300, 0, 320, 0, 300, 240, 0, 0, 1]
R: [1, 0, 0, 0, 1, 0, 0, 0, 1]
P: [300, 0, 320, 0, 0, 300, 240, 0, 0, 0, 1, 0]
""")
    write(t, "opencv.yaml", f"""%YAML:1.0
---
image_width: 640
image_height: 480
camera_name: left
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 450., 0., 320., 0., 451., 240., 0., 0., 1. ]
distortion_coefficients: !!opencv-matrix
   rows: 1
   cols: 5
   dt: d
   data: [ -0.3, 0.1, 1.e-03, -1.5e-03, -2.e-02 ]
lidar_T_cam: !!opencv-matrix
   rows: 4
   cols: 4
   dt: d
   data: {CAM_IN_LIDAR}
avg_reprojection_error: 2.5e-01
""".encode())
    write(t, "opencv_fisheye.yaml", b"""%YAML:1.0
---
width: 320
height: 240
fisheye_model: 1
cameraMatrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: f
   data: [ 200., 0., 160., 0., 200., 120., 0., 0., 1. ]
D: !!opencv-matrix
   rows: 4
   cols: 1
   dt: f
   data: [ -0.02, 0.01, -0.003, 0.001 ]
""")
    write(t, "kalibr.yaml", b"""cam0:
  T_cam_imu:
  - [0, -1, 0, 0.1]
  - [0, 0, -1, 0.2]
  - [1, 0, 0, 0.3]
  - [0, 0, 0, 1]
  cam_overlaps: [1]
  camera_model: pinhole
  distortion_coeffs: [-0.3, 0.1, 0.001, -0.0015]
  distortion_model: radtan
  intrinsics: [450.0, 451.0, 320.0, 240.0]
  resolution: [640, 480]
  rostopic: /cam0/image_raw
cam1:
  T_cn_cnm1:
  - [1, 0, 0, -0.11]
  - [0, 1, 0, 0]
  - [0, 0, 1, 0]
  - [0, 0, 0, 1]
  cam_overlaps: [0]
  camera_model: pinhole
  distortion_coeffs: [-0.02, 0.01, -0.003, 0.001]
  distortion_model: equidistant
  intrinsics: [300.0, 300.0, 320.0, 240.0]
  resolution: [640, 480]
  rostopic: /cam1/image_raw
""")
    write(t, "log.yaml", b"""log_id: drive_0001
licence: CC BY-NC-SA 3.0
schema: kitti
lidar:
  model: hdl64e
  source: 192.168.1.201
  data_port: 2368
  position_port: 8308
  calibration: lidar/db.xml
  metadata: lidar/meta.json
""")


if __name__ == "__main__":
    pointcloud_seeds()
    calib_seeds()
    capture_seeds()
