#!/usr/bin/python3
"""avtruth-mpi end to end: `mpirun -np 4` over synthetic logs 0.4 s to 2 s long gives the
same stitched dataset as the serial `avtruth batch` + `avtruth stitch`, frame for frame
(every dataset but /provenance and the sources' SHA-256, which cover provenance times); a
rank killed mid-build (test hook AVT_MPI_TEST_DIE, SIGKILL) loses only its log under
`mpirun --enable-recovery`, and the rerun rebuilds only that log; without --enable-recovery
the whole job stops but every output left is complete, and a rerun finishes the rest.

Usage: test_mpi_batch.py WORK_DIR   (AVTRUTH, AVT_BUILD_DIR: the CLI and the build folder)
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from common import Checker, run, skip  # noqa: E402

try:
    import h5py
    from h5compare import differences
except ImportError as e:
    skip(f"{e} (Debian python3-h5py, python3-numpy)")
MPI = os.path.join(os.environ["AVT_BUILD_DIR"], "avtruth-mpi")
MPIRUN = shutil.which("mpirun")
if not os.path.exists(MPI) or not MPIRUN:
    skip("avtruth-mpi or mpirun not built/installed (Debian openmpi-bin, libopenmpi-dev)")

c = Checker()
work = sys.argv[1]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
LENGTHS = {"l0.4": 0.4, "l2": 2.0, "l0.8": 0.8, "l1.5": 1.5, "l0.5": 0.5}
logs = []
for i, (name, sec) in enumerate(LENGTHS.items()):
    d = os.path.join(work, "logs", name)
    run("synth", d, "--seconds", sec, "--cameras", "1", "--width", "128", "--height", "80", "--seed", 71 + i)
    logs.append(d)


def mpirun(out, *extra, env=None, recovery=True):
    cmd = [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "4"]
    cmd += ["--enable-recovery"] if recovery else []
    for k in (env or {}):
        cmd += ["-x", k]
    cmd += [MPI, *logs, "-o", out, *extra]
    e = dict(os.environ, **(env or {}))
    e.pop("OMP_NUM_THREADS", None)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=e)
    sys.stdout.write(p.stdout[-3000:])
    return p


def status(out):
    with open(os.path.join(out, "avtruth-mpi.status")) as fh:
        return fh.read().split("\n")


# ---- the serial reference ------------------------------------------------------------------
serial = os.path.join(work, "serial")
run("batch", *logs, "-o", serial)
run("stitch", serial, "-o", os.path.join(serial, "dataset.h5"))
frames = {}
for n in LENGTHS:
    with h5py.File(os.path.join(serial, n + ".h5")) as f:
        frames[n] = int(f.attrs["num_frames"])
c.check(max(frames.values()) >= 4 * min(frames.values()), f"logs of very different lengths: {frames}")

# ---- 4 ranks, same dataset -----------------------------------------------------------------
par = os.path.join(work, "par")
p = mpirun(par)
c.check(p.returncode == 0, f"mpirun -np 4: {p.stderr[-2000:]}")
c.check(status(par)[0] == "complete", f"status complete: {status(par)}")
c.check("5 built or up to date, 0 failed, 0 lost" in p.stdout, "rank 0's summary")
d = differences(os.path.join(serial, "dataset.h5"), os.path.join(par, "dataset.h5"))
c.check(d == [], f"stitched dataset equals the serial one: {d}")
for n in LENGTHS:
    d = differences(os.path.join(serial, n + ".h5"), os.path.join(par, n + ".h5"))
    c.check(d == [], f"{n}.h5 equals the serial one: {d}")
run("verify", os.path.join(par, "dataset.h5"))

# ---- a rank killed mid-build, with --enable-recovery: only its log is lost ------------------
# rank 0 takes the longest log (l2) itself; l1.5, the second longest, goes to a worker rank
kill = os.path.join(work, "kill")
p = mpirun(kill, "--heartbeat", "0.2", "--timeout", "5", env={"AVT_MPI_TEST_DIE": "l1.5"})
st = status(kill)
c.check(st[0] == "incomplete" and f"lost {os.path.join(work, 'logs', 'l1.5')}" in st,
        f"status names the lost log: {st}")
c.check("declared dead" in p.stdout and "lost" in p.stdout, "rank 0 reports the dead rank")
c.check(not os.path.exists(os.path.join(kill, "l1.5.h5")), "the lost log has no output")
c.check(not os.path.exists(os.path.join(kill, "dataset.h5")), "nothing stitched while a log is missing")
for n in LENGTHS:
    if n != "l1.5":
        f = os.path.join(kill, n + ".h5")
        c.check(os.path.exists(f) and run("verify", f, check=False).returncode == 0,
                f"{n}.h5 finished by the surviving ranks")
p = mpirun(kill)
c.check(p.returncode == 0 and status(kill)[0] == "complete", f"rerun completes: {p.stderr[-1500:]}")
c.check(p.stdout.count("up to date (inputs unchanged), skipped") == 4 and "l1.5.h5: " in p.stdout
        and f"l1.5.h5: {frames['l1.5']} frames" in p.stdout, "the rerun rebuilds only l1.5")
d = differences(os.path.join(serial, "dataset.h5"), os.path.join(kill, "dataset.h5"))
c.check(d == [], f"after the rerun the dataset equals the serial one: {d}")

# ---- without --enable-recovery Open MPI stops every rank; the rerun finishes ----------------
abort = os.path.join(work, "abort")
p = mpirun(abort, env={"AVT_MPI_TEST_DIE": "l1.5"}, recovery=False)
c.check(p.returncode != 0, "mpirun without --enable-recovery fails when a rank dies")
left = [n for n in LENGTHS if os.path.exists(os.path.join(abort, n + ".h5"))]
for n in left:
    c.check(run("verify", os.path.join(abort, n + ".h5"), check=False).returncode == 0,
            f"{n}.h5 left by the aborted job is complete")
p = mpirun(abort)
c.check(p.returncode == 0 and p.stdout.count("up to date (inputs unchanged), skipped") == len(left),
        f"the rerun skips the {len(left)} finished logs")
d = differences(os.path.join(serial, "dataset.h5"), os.path.join(abort, "dataset.h5"))
c.check(d == [], f"after the rerun the dataset equals the serial one: {d}")

shutil.rmtree(work, ignore_errors=True)
c.finish()
