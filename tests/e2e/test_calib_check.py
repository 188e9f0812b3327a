"""End-to-end: `avtruth synth --miscalibrate` plants a known error in a synthetic log's stored
calibration (truth/miscalibration.json) and `avtruth calib-check` must flag that camera,
estimate the error, pass the other camera, write overlays and a JSON report, and exit 1; with
the true calibration given through --calib it must exit 0; a log without objects cannot be
judged (exit 2); bad arguments are refused."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

cv2 = need('cv2')
c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", "5", "--seconds", "1", "--cameras", "2", "--lidar", "vls128", "--moving-objects", "0",
    "--static-objects", "20", "--miscalibrate", "front:yaw=0.3,pitch=-0.2")
truth = json.load(open(os.path.join(log, "truth", "miscalibration.json")))
c.check(truth["camera"] == "front" and truth["error"]["yaw_deg"] == 0.3 and truth["error"]["pitch_deg"] == -0.2,
        f"truth/miscalibration.json records the planted error: {truth['error']}")

report, ov = os.path.join(d, "r.json"), os.path.join(d, "ov")
p = run("calib-check", log, "--json", report, "-o", ov, "--window", "5", check=False)
c.check(p.returncode == 1, f"a miscalibrated camera exits 1 (got {p.returncode}: {p.stderr})")
c.check("front" in p.stdout and "miscalibrated" in p.stdout, "the summary names the camera and its status")
r = json.load(open(report))
cams = {x["camera"]: x for x in r["cameras"]}
c.check(r["status"] == "miscalibrated", f"overall status {r['status']}")
f = cams["front"]
c.check(f["status"] == "miscalibrated", f"front: {f['status']}")
for k in ("yaw_deg", "pitch_deg", "roll_deg"):
    c.check(abs(f["error"][k] - truth["error"][k]) <= 0.1,
            f"front {k}: estimate {f['error'][k]:.3f}, planted {truth['error'][k]}")
c.check(cams["front_left"]["status"] == "aligned", f"front_left: {cams['front_left']['status']}")
c.check(0 <= f["confidence"] <= 1, f"confidence {f['confidence']} in [0, 1]")
c.check(2 <= f["bands"] <= 8 and f["significance"] >= f["significance_needed"] >= 2.998 - 1e-3 and f["significant"]
        and all(f["standard_error"][k] >= 0 for k in f["error"]),
        f"front: significance {f['significance']} >= {f['significance_needed']} needed for {f['bands']} bands "
        "(at least Student's t's 2.998 of 8 bands), standard errors reported")
c.check(f["common_gain"] is not None and 0.01 <= f["common_gain"] <= f["score_best"] / f["score_stored"] - 1 + 1e-9,
        f"front: the gain holds over the points both calibrations put in the image ({f['common_gain']})")
c.check(len(f["windows"]) >= 1 and all(w["frames"] >= 3 for w in f["windows"]), "windows of frames reported")
for w in f["windows"]:
    c.check(abs(w["error"]["yaw_deg"] - 0.3) <= 0.15, f"window {w['first_frame']}-{w['last_frame']}: yaw "
            f"{w['error']['yaw_deg']:.3f}")
c.check(len(f["overlays"]) >= 2, "overlays written")
img0 = cv2.imread(os.path.join(log, "cameras", "front", sorted(os.listdir(os.path.join(log, "cameras", "front")))[0]))
for o in f["overlays"]:
    a, b = cv2.imread(os.path.join(ov, o["stored"])), cv2.imread(os.path.join(ov, o["corrected"]))
    c.check(a is not None and b is not None and a.shape == img0.shape == b.shape, f"overlay {o['stored']} readable")
    if a is not None and b is not None:
        c.check((a != b).any(), f"overlays of frame {o['frame']} differ before and after the correction")

# the true calibration through --calib (calib.yaml with front's true lidar_T_cam): aligned
text = open(os.path.join(log, "calib.yaml")).read()
stored = ", ".join(repr(v) for v in truth["stored_lidar_T_cam"])
fixed = os.path.join(d, "fixed.yaml")
lines = []
for line in text.splitlines():
    m = re.match(r"(\s*lidar_T_cam: )\[(.*)\]", line)
    if m and [float(v) for v in m.group(2).split(",")] == truth["stored_lidar_T_cam"]:
        line = m.group(1) + "[" + ", ".join(repr(v) for v in truth["true_lidar_T_cam"]) + "]"
    lines.append(line)
open(fixed, "w").write("\n".join(lines) + "\n")
c.check(open(fixed).read() != text, "the fixed calibration differs from the stored one")
p = run("calib-check", log, "--calib", fixed, "--window", "0", check=False)
c.check(p.returncode == 0, f"the true calibration exits 0 (got {p.returncode}: {p.stdout[-400:]})")

# nothing to see: no objects, no depth discontinuities
empty = os.path.join(d, "empty")
run("synth", empty, "--seconds", "0.3", "--cameras", "1", "--moving-objects", "0", "--static-objects", "0")
p = run("calib-check", empty, check=False)
c.check(p.returncode == 2, f"a log without edges exits 2 (got {p.returncode})")


def synth_check(name, seed, seconds, lidar, plant=None):
    """A synthetic log of 2 cameras and 20 static objects (plant: a --miscalibrate value),
    checked: the calib-check process and the report's cameras by name."""
    lg, rep = os.path.join(d, name), os.path.join(d, name + ".json")
    run("synth", lg, "--seed", str(seed), "--seconds", str(seconds), "--cameras", "2", "--lidar", lidar,
        "--moving-objects", "0", "--static-objects", "20", *(["--miscalibrate", plant] if plant else []))
    p = run("calib-check", lg, "--json", rep, check=False)
    return p, {x["camera"]: x for x in json.load(open(rep))["cameras"]}


# A VLP-32C, rings 0.33 deg apart around the horizon: where an edge lies between two beams is not
# known. This log's correct calibration reads as about 0.25 deg of roll on both cameras (both
# were flagged before the ring-gap rule), a correction that moves the points across the rings,
# fewer than a tenth of them beyond their tolerance (half a gap, a gap for edges along a ring):
# undetermined, exit 2. 0.25 deg of yaw planted on the front camera moves them along the rings:
# flagged.
for plant, want in ((None, {"front": "undetermined", "front_left": "undetermined"}),
                    ("front:yaw=0.25", {"front": "miscalibrated", "front_left": "undetermined"})):
    p, vc = synth_check(f"vlp32c_{bool(plant)}", 5, 1, "vlp32c", plant)
    c.check(p.returncode == (1 if plant else 2), f"vlp32c, planted {plant}: exit {p.returncode}")
    for cam, status in want.items():
        dsp = vc[cam]["displacement"]
        c.check(vc[cam]["status"] == status, f"vlp32c, planted {plant}: {cam} {vc[cam]['status']}, {dsp}")
        across = dsp["across_rings_deg"] >= dsp["along_rings_deg"]
        within = across and dsp["share_beyond_tolerance"] < 0.1  # the ring-gap rule's case
        c.check(within == (status == "undetermined"),
                f"vlp32c, planted {plant}: {cam} moved {'across' if across else 'along'} the rings, {dsp}")

# The same model, seed 3: the front_left camera sees the flank of the truck parked beside the ego
# and one car far ahead, three quarters of the points' weight in one of the eight column bands.
# Its correct calibration asks for 0.5 deg of roll and 0.4 deg of pitch, a correction every band
# agrees on (significance far above 3), but the points fill under two bands in effect: no
# significance can tell that from chance, undetermined (flagged before the bands rule).
p, bc = synth_check("vlp32c_s3", 3, 1, "vlp32c")
fl = bc["front_left"]
c.check(p.returncode == 2 and fl["status"] == "undetermined", f"vlp32c seed 3: exit {p.returncode}, {fl['status']}")
c.check(fl["significance"] is not None and fl["significance"] > 10 and fl["bands"] < 2
        and fl["significance_needed"] is None and fl["significant"] is False,
        f"vlp32c seed 3 front_left: significance {fl['significance']}, bands {fl['bands']}, "
        f"needed {fl['significance_needed']}")
c.check("fewer than two" in p.stdout, "the summary says the points fill fewer than two bands")

# A VLP-16 (synth's default LiDAR), rings 2 deg apart: no edges across the rings, so nothing
# places the points across them. Seed 2's front_left camera was flagged with roll +1.36 deg and
# pitch -1.92 deg (significance 33), all of it the edges along the rings sliding up their
# vertical edges; the parameters that move the points across the rings are now held at 0
# (observed false), the correct calibration is aligned. 0.25 deg of yaw planted on the front
# camera (along the rings) is flagged and estimated.
for plant in (None, "front:yaw=0.25"):
    p, sc = synth_check(f"vlp16_{bool(plant)}", 2, 3, "vlp16", plant)
    c.check(p.returncode == (1 if plant else 0), f"vlp16, planted {plant}: exit {p.returncode}")
    for cam in ("front", "front_left"):
        x = sc[cam]
        want = "miscalibrated" if plant and cam == "front" else "aligned"
        c.check(x["status"] == want, f"vlp16, planted {plant}: {cam} {x['status']}, error {x['error']}")
        c.check(x["displacement"]["across_rings_share"] == 0
                and not any(x["observed"][k] for k in ("roll", "pitch", "z"))
                and x["error"]["roll_deg"] == 0 and x["error"]["pitch_deg"] == 0 and x["error"]["z_m"] == 0,
                f"vlp16, planted {plant}: {cam} searched across the rings: {x['observed']}, {x['error']}")
    if plant:
        c.check(abs(sc["front"]["error"]["yaw_deg"] - 0.25) < 0.1, f"vlp16 planted yaw read as {sc['front']['error']}")
    c.check("are not searched" in p.stdout, "the summary says what is not searched")

# bad arguments
p = run("calib-check", log, "--camera", "nosuch", check=False)
c.check(p.returncode == 1 and "nosuch" in p.stderr and "front" in p.stderr, f"unknown camera: {p.stderr.strip()}")
p = run("calib-check", log, "--frames", "5:2", check=False)
c.check(p.returncode == 2 and "--frames" in p.stderr, f"bad --frames: {p.stderr.strip()}")
p = run("synth", os.path.join(d, "x"), "--miscalibrate", "front:yaw", check=False)
c.check(p.returncode == 2 and "--miscalibrate" in p.stderr, f"bad --miscalibrate: {p.stderr.strip()}")
p = run("synth", os.path.join(d, "y"), "--cameras", "1", "--miscalibrate", "rear:yaw=1", check=False)
c.check(p.returncode == 1 and "rear" in p.stderr, f"unknown camera to miscalibrate: {p.stderr.strip()}")
c.finish()
