"""Progress reports of long commands (synth, build, stitch, calib-check) on stderr: lines with percent, count, rate and ETA when
stderr is not a terminal (here every frame: AVT_PROGRESS_SECONDS=0), ending at 100 %; none
with --quiet; stdout (the summary) unchanged either way. build's time line gives each stage's
wall seconds, summing to the total."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import AVTRUTH, Checker, tmpdir  # noqa: E402

c = Checker()
d = tmpdir()
env = dict(os.environ, AVT_PROGRESS_SECONDS="0")


def avt(*args):
    return subprocess.run([AVTRUTH, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def progress(p, verb, unit, min_lines):
    """The progress lines of `verb` on p's stderr: the percents and counts, checked to have the
    form, to rise, and to pass through a value strictly between 0 and 100 before the closing
    line (which says 100 % whatever the fraction was)."""
    lines = [l for l in p.stderr.splitlines() if l.startswith("avtruth: " + verb)]
    pat = re.compile(r"avtruth: %s +(\d+)%%  (\d+) %s  [0-9.]+ %s/s" % (verb, unit, unit))
    m = [pat.match(l) for l in lines]
    c.check(len(lines) >= min_lines and all(m), f"{verb}: every step reported with percent, count and rate: {lines[:3]}")
    if not (m and all(m)):
        return [], []
    pct, counts = [int(x.group(1)) for x in m], [int(x.group(2)) for x in m]
    c.check(pct == sorted(pct) and pct[-1] == 100 and any(0 < x < 100 for x in pct[:-1]),
            f"{verb}: percent rises through to 100: {pct}")
    c.check(any("ETA" in l for l in lines), f"{verb}: some line gives the time left")
    return pct, counts


p = avt("synth", os.path.join(d, "log"), "--seconds", 1, "--cameras", 1, "--width", 64, "--height", 48)
c.check(p.returncode == 0, f"synth: {p.stderr}")
synth_lines = [l for l in p.stderr.splitlines() if l.startswith("avtruth: synthesizing")]
c.check(len(synth_lines) >= 2 and "100%" in synth_lines[-1], f"synth progress lines: {synth_lines[-3:]}")

p = avt("build", os.path.join(d, "log"), "-o", os.path.join(d, "a.h5"))
c.check(p.returncode == 0, f"build: {p.stderr}")
pct, frames = progress(p, "building", "frames", 5)
if frames:
    c.check(frames[:-1] == list(range(1, len(frames))), f"frames counted one by one: {frames[:5]}")
    summary_frames = int(re.search(r"^frames +(\d+)", p.stdout, re.M).group(1))
    c.check(frames[-1] == summary_frames, f"last count {frames[-1]} = the summary's {summary_frames} frames")

# the time line: the total, then the wall seconds of each stage of the build, summing to it
tm = re.search(r"^time +([0-9.]+) s \((.*)\)$", p.stdout, re.M)
stages = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([0-9.]+)", tm.group(2))) if tm else {}
c.check(list(stages) == ["setup", "decode", "deskew", "labels", "cameras", "export", "finish"],
        f"the time line names the build's stages: {tm.group(0) if tm else p.stdout[-300:]}")
if tm:
    total = float(tm.group(1))
    c.check(abs(sum(stages.values()) - total) <= 0.05 + 0.05 * total,
            f"the stages' times sum to the total {total}: {stages}")

q = avt("build", os.path.join(d, "log"), "-o", os.path.join(d, "b.h5"), "--quiet")
c.check(q.returncode == 0 and "building" not in q.stderr, f"--quiet: no progress: {q.stderr[:200]}")
strip = lambda s: "\n".join(l for l in s.splitlines() if not l.startswith(("time", "output")))  # noqa: E731
c.check(strip(q.stdout) == strip(p.stdout), "the summary on stdout is the same with and without --quiet")

# stitch: one line per source checked, then per column, ending at 100 % with every log counted
os.makedirs(os.path.join(d, "st"))
for name in ("a", "b"):
    os.replace(os.path.join(d, name + ".h5"), os.path.join(d, "st", name + ".h5"))
p = avt("stitch", os.path.join(d, "st"), "-o", os.path.join(d, "st", "all.h5"))
c.check(p.returncode == 0, f"stitch: {p.stderr}")
pct, logs = progress(p, "stitching", "logs", 3)
c.check(logs[-1:] == [2], f"stitch: both logs counted: {logs}")
q = avt("stitch", os.path.join(d, "st"), "-o", os.path.join(d, "st", "all2.h5"), "--quiet")
c.check(q.returncode == 0 and "stitching" not in q.stderr, f"stitch --quiet: {q.stderr[:200]}")

# calib-check: one line per sweep, percent rising to 100 with every sweep of the report counted
p = avt("calib-check", os.path.join(d, "log"), "--window", 0)
c.check(p.returncode in (0, 1, 2), f"calib-check: {p.stderr[-300:]}")
pct, sweeps = progress(p, "checking", "sweeps", 3)
summary_sweeps = int(re.search(r": (\d+) sweeps", p.stdout).group(1))
c.check(sweeps[-1:] == [summary_sweeps], f"calib-check: sweeps {sweeps[-1:]} of the summary's {summary_sweeps}")
q = avt("calib-check", os.path.join(d, "log"), "--window", 0, "--quiet")
c.check(q.returncode == p.returncode and "checking" not in q.stderr, f"calib-check --quiet: {q.stderr[:200]}")
c.check(q.stdout == p.stdout, "calib-check's summary is the same with and without --quiet")
c.finish()
