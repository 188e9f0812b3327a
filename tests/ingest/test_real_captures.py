#!/usr/bin/python3
"""Sanity of our decode of real captures, from physics and the manuals rather than a peer:
VLP-16 dual (0.4 s, four turns at 10 Hz): complete sweeps cover 360 deg, last ~100 ms,
ranges inside the filter, ring order = elevation order; the 2012 HDL-32E takes its hour
from $GPRMC; the Hesai XT16 capture is rejected as unsupported with zero points; Ouster
captures with another unit's metadata are refused.

usage: test_real_captures.py DUMP_SWEEPS"""
import os
import subprocess
import sys
import tempfile

import numpy as np

REC = np.dtype([("sweep", "<u4"), ("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                ("intensity", "<f4"), ("ring", "<u2"), ("ret", "u1"), ("pad", "u1"),
                ("t_ns", "<i8")])
VLP16_ELEV = [-15, 1, -13, 3, -11, 5, -9, 7, -7, 9, -5, 11, -3, 13, -1, 15]
VLP16_OFF_MM = [11.2, -0.7, 9.7, -2.2, 8.1, -3.7, 6.6, -5.1, 5.1, -6.6, 3.7, -8.1, 2.2, -9.7, 0.7, -11.2]


def dump(tool, capture, *args):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p.bin")
        p = subprocess.run([tool, capture, out, *args], capture_output=True, text=True)
        pts = np.fromfile(out, dtype=REC) if os.path.exists(out) else np.zeros(0, REC)
    sweeps = np.array([[int(v) for v in l.split()[1:]] for l in p.stdout.splitlines()
                       if l.startswith("sweep")], dtype=np.int64).reshape(-1, 8)
    return p, pts, sweeps


def main():
    tool = sys.argv[1]
    data = os.environ.get("AVT_SHARED_DATA", "")
    if not os.path.isdir(os.path.join(data, "velodyne")):
        print(f"SKIP: shared data not found at {data!r}")
        return 77
    fail = []

    p, pts, sw = dump(tool, os.path.join(data, "velodyne/vlp16_dual.pcap"))
    if p.returncode != 0:
        fail.append(f"vlp16_dual: {p.stderr}")
    else:
        r = np.sqrt(pts["x"].astype(float) ** 2 + pts["y"] ** 2)
        # range filter (defaults 0.1 .. 250 m) applies to d before the vertical offset
        d_xy = np.hypot(pts["x"], pts["y"])
        if d_xy.min() < 0.05 or r.max() > 250:
            fail.append(f"ranges {d_xy.min()}..{r.max()} outside the filter")
        rings = np.unique(pts["ring"])
        print(f"vlp16_dual: rings with returns {rings.tolist()}")
        if rings.max() > 15 or len(rings) < 8:
            fail.append(f"rings {rings.tolist()}: expected up to 16 of 0..15")
        # ring order: elevation (z without the manual's offset) rises with the ring
        elev = {}
        for ring in range(16):
            laser = sorted(range(16), key=lambda l: VLP16_ELEV[l])[ring]
            m = pts["ring"] == ring
            if not m.any():
                continue
            z = pts["z"][m] - VLP16_OFF_MM[laser] * 1e-3
            elev[ring] = np.degrees(np.median(np.arctan2(z, np.hypot(pts["x"][m], pts["y"][m]))))
            if abs(elev[ring] - VLP16_ELEV[laser]) > 0.05:
                fail.append(f"ring {ring}: elevation {elev[ring]:.3f}, manual {VLP16_ELEV[laser]}")
        complete = np.flatnonzero(sw[:, 7] == 1)
        if len(complete) < 3:
            fail.append(f"only {len(complete)} complete sweeps in 4 turns")
        for k in complete:
            m = pts["sweep"] == k
            az = (np.degrees(np.arctan2(-pts["y"][m], pts["x"][m])) + 360) % 360
            bins = np.unique(np.floor(az).astype(int))
            dur_ms = (sw[k, 3] - sw[k, 2]) / 1e6
            # the cut is behind (180 deg): the sweep's first firing faces backwards and the
            # reference time (forward, 0 deg) lies mid-sweep
            mid = (sw[k, 4] - sw[k, 2]) / (sw[k, 3] - sw[k, 2])
            print(f"sweep {k}: {m.sum()} points, {len(bins)} one-degree bins, {dur_ms:.2f} ms, "
                  f"timestamp at {mid:.3f} of the sweep")
            if len(bins) < 355:
                fail.append(f"sweep {k} covers {len(bins)} degrees")
            if not 95 < dur_ms < 105:
                fail.append(f"sweep {k} lasts {dur_ms} ms at 10 Hz")
            if not 0.45 < mid < 0.55:
                fail.append(f"sweep {k} timestamp at {mid} of the sweep")
            a0 = az[0]
            if abs(a0 - 180) > 1:
                fail.append(f"sweep {k} starts at {a0} deg, cut is 180")
        if np.any(np.diff(pts["t_ns"][np.argsort(pts["sweep"], kind="stable")]) < 0):
            fail.append("point times go back within the capture")

    # HDL-32E 2012: $GPRMC 2012-12-11 21:46:16 gives the hour (ToH 2777.07 s = 21:46:17.07)
    p, pts, sw = dump(tool, os.path.join(data, "velodyne/hdl32e_strongest_2012.pcap"))
    t0 = pts["t_ns"].min() if len(pts) else 0
    expect = 1355259600 * 10**9 + 2777070 * 10**6  # 21:00:00Z + 2777.07 s
    if p.returncode != 0 or abs(int(t0) - expect) > 10**6:
        fail.append(f"hdl32e first point at {t0}, expected about {expect}")

    # 2014 VLP-16 reports the HDL-32E product byte: detected as VLP-16 by the packet period
    p, pts, sw = dump(tool, os.path.join(data, "velodyne/vlp16_strongest_2014.pcap"))
    if p.returncode != 0 or " vlp16" not in p.stdout:
        fail.append(f"vlp16_strongest_2014 not detected as vlp16: {p.stdout[-200:]}")

    p, pts, sw = dump(tool, os.path.join(data, "hesai/hesai_xt16.pcap"))
    print("hesai:", p.stderr.strip())
    if p.returncode == 0 or "AVT_UNSUPPORTED" not in p.stderr or len(pts) or len(sw):
        fail.append(f"hesai capture not rejected: rc {p.returncode}, {len(pts)} points")

    # metadata of another unit: the packets' serial number (or size) is not the metadata's
    os_dir = os.path.join(data, "ouster")
    for cap, meta, want in [
            ("OS-0-32-U1_v2.2.0_1024x10-single-packet.pcap", "OS-0-128-U1_v2.3.0_1024x10.json",
             "record 1: serial number 992137000142, the metadata's 122150000150"),
            ("OS-0-128-U1_v2.3.0_1024x10.pcap", "OS-1-64_sensor_config_reduced.json",
             "record 1: Ouster lidar packets of 8448 bytes on UDP port 7502, but the metadata")]:
        p, pts, sw = dump(tool, os.path.join(os_dir, cap), "auto", "250", "180",
                          os.path.join(os_dir, meta))
        print(f"{cap} with {meta}:", p.stderr.strip()[-200:])
        if p.returncode == 0 or want not in p.stderr or len(pts) or len(sw):
            fail.append(f"{cap} decoded with {meta}: rc {p.returncode}, {len(pts)} points")

    for f in fail:
        print("FAIL:", f)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
