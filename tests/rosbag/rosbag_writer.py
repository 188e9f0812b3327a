"""Test helper: writes ROS 2 bags (rosbag2 sqlite3 storage: a .db3 with the topics and
messages tables and metadata.yaml) with CDR messages serialized by hand, independently of the
C decoders it tests. CDR: 4-byte encapsulation 00 01 00 00 (CDR_LE), then each primitive
aligned to its size from the first byte after it; strings are uint32 length (with the NUL),
bytes, NUL; sequences uint32 count then the elements (rosidl message field order)."""
import os
import sqlite3
import struct


class Cdr:
    def __init__(self, be=False):
        self.b = bytearray()
        self.be = be
        self.o = ">" if be else "<"

    def _align(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def u8(self, v):
        self.b += struct.pack(self.o + "B", v)
        return self

    def u32(self, v):
        self._align(4)
        self.b += struct.pack(self.o + "I", v)
        return self

    def i32(self, v):
        self._align(4)
        self.b += struct.pack(self.o + "i", v)
        return self

    def f64(self, v):
        self._align(8)
        self.b += struct.pack(self.o + "d", v)
        return self

    def string(self, s):
        raw = s.encode() + b"\0"
        self.u32(len(raw))
        self.b += raw
        return self

    def octets(self, data):  # uint8[]
        self.u32(len(data))
        self.b += data
        return self

    def time(self, t_ns):
        return self.i32(t_ns // 10**9).u32(t_ns % 10**9)

    def header(self, t_ns, frame):
        return self.time(t_ns).string(frame)

    def bytes(self):
        return (b"\x00\x00" if self.be else b"\x00\x01") + b"\x00\x00" + bytes(self.b)


def velodyne_scan(t_ns, frame, packets):
    """velodyne_msgs/msg/VelodyneScan: packets = [(stamp_ns, 1206 bytes)]."""
    c = Cdr().header(t_ns, frame).u32(len(packets))
    for stamp, data in packets:
        assert len(data) == 1206
        c.time(stamp)
        c.b += data
    return c.bytes()


def image(t_ns, frame, img_bgr):
    """sensor_msgs/msg/Image, bgr8, from an OpenCV HxWx3 uint8 array."""
    h, w = img_bgr.shape[:2]
    return (Cdr().header(t_ns, frame).u32(h).u32(w).string("bgr8").u8(0).u32(w * 3)
            .octets(img_bgr.tobytes()).bytes())


def compressed_image(t_ns, frame, fmt, data):
    return Cdr().header(t_ns, frame).string(fmt).octets(data).bytes()


def camera_info(t_ns, frame, width, height, K, D):
    """sensor_msgs/msg/CameraInfo, plumb_bob; R identity, P = [K | 0]."""
    c = Cdr().header(t_ns, frame).u32(height).u32(width).string("plumb_bob").u32(len(D))
    for v in D:
        c.f64(v)
    for v in K:
        c.f64(v)
    for v in (1, 0, 0, 0, 1, 0, 0, 0, 1):
        c.f64(v)
    for v in (K[0], K[1], K[2], 0, K[3], K[4], K[5], 0, K[6], K[7], K[8], 0):
        c.f64(v)
    return c.u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u8(0).bytes()


def bytes_msg(data):
    """ouster_sensor_msgs/msg/PacketMsg (uint8[] buf)."""
    return Cdr().octets(data).bytes()


def string_msg(s):
    """std_msgs/msg/String."""
    return Cdr().string(s).bytes()


def pointcloud2(t_ns, frame, xyzi, be=False):
    """sensor_msgs/msg/PointCloud2 of float32 x y z intensity (an Nx4 array), one row."""
    n = len(xyzi)
    c = Cdr(be).header(t_ns, frame).u32(1).u32(n).u32(4)
    for k, name in enumerate("x y z intensity".split()):
        c.string(name).u32(4 * k).u8(7).u32(1)  # FLOAT32, count 1
    data = xyzi.astype(">f4" if be else "<f4").tobytes()
    return c.u8(1 if be else 0).u32(16).u32(16 * n).octets(data).u8(1).bytes()


def tf_message(transforms):
    """tf2_msgs/msg/TFMessage: transforms = [(t_ns, parent, child, [x,y,z], [w,x,y,z])]."""
    c = Cdr().u32(len(transforms))
    for t_ns, parent, child, t, q in transforms:
        c.header(t_ns, parent).string(child)
        for v in t:
            c.f64(v)
        for v in (q[1], q[2], q[3], q[0]):  # ROS order x y z w
            c.f64(v)
    return c.bytes()


def quaternion(R):
    """Unit quaternion [w,x,y,z] of a 3x3 rotation (Shepperd's method, largest pivot)."""
    tr = R[0][0] + R[1][1] + R[2][2]
    cands = [tr, R[0][0], R[1][1], R[2][2]]
    k = max(range(4), key=lambda i: cands[i])
    if k == 0:
        s = (1 + tr) ** 0.5 * 2
        q = [s / 4, (R[2][1] - R[1][2]) / s, (R[0][2] - R[2][0]) / s, (R[1][0] - R[0][1]) / s]
    elif k == 1:
        s = (1 + R[0][0] - R[1][1] - R[2][2]) ** 0.5 * 2
        q = [(R[2][1] - R[1][2]) / s, s / 4, (R[0][1] + R[1][0]) / s, (R[0][2] + R[2][0]) / s]
    elif k == 2:
        s = (1 + R[1][1] - R[0][0] - R[2][2]) ** 0.5 * 2
        q = [(R[0][2] - R[2][0]) / s, (R[0][1] + R[1][0]) / s, s / 4, (R[1][2] + R[2][1]) / s]
    else:
        s = (1 + R[2][2] - R[0][0] - R[1][1]) ** 0.5 * 2
        q = [(R[1][0] - R[0][1]) / s, (R[0][2] + R[2][0]) / s, (R[1][2] + R[2][1]) / s, s / 4]
    return q


def write_bag(bag_dir, topics, messages):
    """topics: [(name, type)]; messages: [(topic index, receive t_ns, bytes)]."""
    os.makedirs(bag_dir)
    name = os.path.basename(bag_dir) + "_0.db3"
    con = sqlite3.connect(os.path.join(bag_dir, name))
    con.executescript(
        "CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,"
        " serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL);"
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,"
        " timestamp INTEGER NOT NULL, data BLOB NOT NULL);")
    for i, (t, ty) in enumerate(topics):
        con.execute("INSERT INTO topics VALUES (?, ?, ?, 'cdr', '')", (i + 1, t, ty))
    con.executemany("INSERT INTO messages(topic_id, timestamp, data) VALUES (?, ?, ?)",
                    [(ti + 1, ts, d) for ti, ts, d in messages])
    con.commit()
    con.close()
    with open(os.path.join(bag_dir, "metadata.yaml"), "w") as f:
        f.write("rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: sqlite3\n"
                f"  relative_file_paths:\n    - {name}\n  compression_format: \"\"\n"
                "  compression_mode: \"\"\n")


def pcap_records(path):
    """(t_ns, UDP destination port, UDP payload) of each record of a classic pcap (Ethernet)."""
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    scale = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}[magic]
    out, o = [], 24
    while o < len(d):
        sec, frac, cap, _ = struct.unpack("<IIII", d[o:o + 16])
        frame = d[o + 16:o + 16 + cap]
        ihl = (frame[14] & 15) * 4
        udp = frame[14 + ihl:]
        out.append((sec * 10**9 + frac * scale, struct.unpack(">H", udp[2:4])[0], bytes(udp[8:])))
        o += 16 + cap
    return out
