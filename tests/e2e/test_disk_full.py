"""End-to-end: a disk that fills during export. The build runs under a file-size limit
(RLIMIT_FSIZE, set in the child before exec: writes past it fail with EFBIG as they would with
ENOSPC on a full disk) at sizes that cut the file in its first chunks, in the middle and in the
final metadata written when it is closed; and, when this test may mount one (root), into a
300 KB tmpfs (ENOSPC). Each must exit 1 with a message that says the disk is full and names
the file, and leave nothing behind: no OUT.h5, no OUT.h5.partial, no card."""
import os
import resource
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import AVTRUTH, Checker, run, tmpdir  # noqa: E402

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", 4, "--seconds", 0.5, "--cameras", 1)
full = os.path.join(d, "full.h5")
run("build", log, "-o", full, "--embed-images")
size = os.path.getsize(full)


def build_limited(out_dir, limit):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([AVTRUTH, "build", log, "-o", os.path.join(out_dir, "out.h5"), "--embed-images"],
                          preexec_fn=pre, capture_output=True, text=True, timeout=600)


for limit in (2048, size // 3, size // 2, size - 4096, size - 1):
    out_dir = os.path.join(d, f"lim{limit}")
    os.mkdir(out_dir)
    p = build_limited(out_dir, limit)
    c.check(p.returncode == 1, f"limit {limit} of {size}: exit {p.returncode} (1 wanted; a signal is negative)")
    c.check("out.h5" in p.stderr and ("File too large" in p.stderr or "No space left" in p.stderr)
            and "nothing is kept" in p.stderr, f"limit {limit}: message says why: {p.stderr[:300]!r}")
    c.check(os.listdir(out_dir) == [], f"limit {limit}: nothing left: {os.listdir(out_dir)}")

# a real full file system, when one can be mounted here
mnt = os.path.join(d, "tmpfs")
os.mkdir(mnt)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", mnt], capture_output=True).returncode == 0:
    try:
        p = run("build", log, "-o", os.path.join(mnt, "out.h5"), check=False)
        c.check(p.returncode == 1 and "No space left on device" in p.stderr, f"300 KB tmpfs: {p.returncode} {p.stderr[:300]!r}")
        c.check(os.listdir(mnt) == [], f"300 KB tmpfs: nothing left: {os.listdir(mnt)}")
    finally:
        subprocess.run(["umount", mnt])
else:
    print("tmpfs not mountable here (not root): the file-size limit cases stand alone")
shutil.rmtree(d)
c.finish()
