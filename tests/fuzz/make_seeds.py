#!/usr/bin/env python3
"""Writes the hand-made seeds of corpus/fuzz_pointcloud and the link-layer seeds of
corpus/fuzz_lidar_pcap (pcapng, Linux SLL2, 802.1Q VLAN). The Velodyne payloads are the first
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


if __name__ == "__main__":
    pointcloud_seeds()
    capture_seeds()
