"""Bad input gets a clear message naming the file and what is wrong, a non-zero exit status and
no output file (neither NAME.h5 nor NAME.h5.partial)."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, run, tmpdir  # noqa: E402

c = Checker()
base = tmpdir()
good = os.path.join(base, "good")
run("synth", good, "--seed", 3, "--seconds", 0.5, "--cameras", 1)


def variant(name, mutate):
    d = os.path.join(base, name)
    shutil.copytree(good, d)
    mutate(d)
    return d


def expect_fail(name, mutate, *needles):
    d = variant(name, mutate)
    out = os.path.join(base, name + ".h5")
    p = run("build", d, "-o", out, check=False)
    msg = p.stderr
    c.check(p.returncode != 0, f"{name}: exit status {p.returncode}, expected failure")
    for n in needles:
        c.check(n in msg, f"{name}: message {msg.strip()!r} does not mention {n!r}")
    c.check(not os.path.exists(out) and not os.path.exists(out + ".partial"), f"{name}: output left behind")


def pcap(d):
    return sorted(glob.glob(os.path.join(d, "lidar", "*.pcap")))[0]


def hole_pcap(d):
    """100 bytes missing in the middle, the rest intact: no power loss (a cut last record is
    built up to the cut: test_truncated_capture.py)."""
    p = pcap(d)
    data = open(p, "rb").read()
    mid = len(data) // 2 + 7
    open(p, "wb").write(data[:mid] + data[mid + 100:])


def empty_pcap(d):
    open(pcap(d), "wb").close()


def bad_rotation(d):
    p = os.path.join(d, "calib.yaml")
    txt = open(p).read()
    # scale the LiDAR rotation: no longer orthonormal
    i = txt.index("lidar_T_ego: [") + len("lidar_T_ego: [")
    j = txt.index(",", i)
    txt = txt[:i] + "1.5" + txt[j:]
    open(p, "w").write(txt)


def missing_calib(d):
    os.remove(os.path.join(d, "calib.yaml"))


def misspelt_calib_key(d):
    """'camras:' for 'cameras:' (the build used to succeed without any camera)."""
    p = os.path.join(d, "calib.yaml")
    lines = open(p).read().split("\n")
    at = lines.index("cameras:")
    lines[at] = "camras:"
    open(p, "w").write("\n".join(lines))
    return at + 1


def bad_label(d):
    lab = sorted(glob.glob(os.path.join(d, "labels", "*.json")))[0]
    open(lab, "w").write('{"timestamp_ns": 1, "boxes": [ {"class": "car"')


expect_fail("no_lidar", lambda d: shutil.rmtree(os.path.join(d, "lidar")), "lidar")
expect_fail("empty_pcap", empty_pcap, "vlp16.pcap")
expect_fail("hole_in_pcap", hole_pcap, "vlp16.pcap", "record ")
# (an image that is no PNG is left unpaired with a finding, status 0: test_jpeg_cameras.py)
expect_fail("bad_rotation", bad_rotation, "calib.yaml", "lidar_T_ego", "rigid")
expect_fail("missing_calib", missing_calib, "calib.yaml")
expect_fail("bad_label", bad_label, ".json", "line")

# a misspelt calib.yaml key: status 1 like every calibration error, the file, line, key and the
# accepted keys named, no output
line = []
d = variant("misspelt_calib_key", lambda d: line.append(misspelt_calib_key(d)))
out = os.path.join(base, "misspelt_calib_key.h5")
p = run("build", d, "-o", out, check=False)
c.check(p.returncode == 1, f"misspelt calib key: exit status {p.returncode}, expected 1")
c.check(f"calib.yaml: line {line[0]}: top level: unknown key 'camras' (accepted: version, lidar, cameras)" in p.stderr,
        f"misspelt calib key: message {p.stderr.strip()!r}")
c.check(not os.path.exists(out) and not os.path.exists(out + ".partial"), "misspelt calib key: output left behind")

# a pre-existing output is left untouched by a failed build
d = variant("keep_old", empty_pcap)
out = os.path.join(base, "keep_old.h5")
open(out, "w").write("old")
p = run("build", d, "-o", out, check=False)
c.check(p.returncode != 0 and open(out).read() == "old", "failed build keeps an existing output file")

# missing log directory
p = run("build", os.path.join(base, "nope"), "-o", os.path.join(base, "nope.h5"), check=False)
c.check(p.returncode != 0 and "nope" in p.stderr, "missing log directory is named")
c.finish()
