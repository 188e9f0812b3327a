#!/usr/bin/env python3
"""Writes the seeds of corpus/fuzz_mcap (MCAP files re-created from the conformance suite's
.json by tests/rosbag/test_mcap_conformance.py's writer, plus zstd and lz4 chunk variants) and
corpus/fuzz_cdr (one message of each decoded type, by tests/rosbag/rosbag_writer.py).
Run from anywhere: python3 tests/fuzz/make_rosbag_seeds.py"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rosbag"))
import rosbag_writer as rw  # noqa: E402
import test_mcap_conformance as mc  # noqa: E402

import numpy as np  # noqa: E402

SUITE = os.path.join(HERE, "..", "..", "..", "shared", "data", "mcap", "conformance")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    print(f"{target}/{name}: {len(data)} bytes")


for case in ["TenMessages/TenMessages-ch-chx-mx-pad-rch-rsh-st-sum", "OneAttachment/OneAttachment-ax-pad-st-sum",
             "OneMetadata/OneMetadata-mdx-pad-st-sum", "TenMessages/TenMessages", "NoData/NoData"]:
    spec = json.load(open(os.path.join(SUITE, case + ".json")))
    feats = set(spec["meta"]["variant"]["features"])
    name = os.path.basename(case)
    write("fuzz_mcap", name + ".mcap", mc.build(spec["records"], feats)[0])
    if "ch" in feats:
        for how in ("zstd", "lz4"):
            write("fuzz_mcap", f"{name}.{how}.mcap", mc.build(spec["records"], feats, how, summary=False)[0])

t = 1_700_000_000_123_456_789
pkt = bytes(range(256)) * 4 + bytes(182)
write("fuzz_cdr", "velodyne_scan", rw.velodyne_scan(t, "velodyne", [(t, pkt), (t + 1000, pkt)]))
write("fuzz_cdr", "packet_msg", rw.bytes_msg(bytes(48)))
write("fuzz_cdr", "string", rw.string_msg('{"prod_sn": "1"}'))
pts = np.arange(12, dtype=np.float32).reshape(3, 4)
write("fuzz_cdr", "pointcloud2_le", rw.pointcloud2(t, "lidar", pts))
write("fuzz_cdr", "pointcloud2_be", rw.pointcloud2(t, "lidar", pts, be=True))
write("fuzz_cdr", "image", rw.image(t, "cam", np.zeros((2, 3, 3), np.uint8)))
write("fuzz_cdr", "compressed_image", rw.compressed_image(t, "cam", "jpeg", b"\xff\xd8\xff\xe0"))
write("fuzz_cdr", "camera_info", rw.camera_info(t, "cam", 640, 400, [400, 0, 320, 0, 400, 200, 0, 0, 1],
                                                [0.1, -0.01, 0, 0, 0]))
write("fuzz_cdr", "tf", rw.tf_message([(t, "odom", "base_link", [1, 2, 3], [1, 0, 0, 0]),
                                       (t, "base_link", "velodyne", [0, 0, 1.8], [0.7071, 0, 0, 0.7071])]))
