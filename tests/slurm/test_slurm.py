#!/usr/bin/python3
"""tools/slurm on a real single-node Slurm cluster started here: munged with a fresh key,
slurmctld and slurmd from a generated slurm.conf (proctrack/linuxproc, task/none, no
cgroups, every state, log and pid file under a temporary directory, ports of its own),
then tools/slurm/submit.sh: a job array over synthetic logs (two per task) and the
dependent stitch job; the dataset equals the serial batch + stitch (every dataset but
/provenance and the sources' SHA-256). A second submission after deleting one output
rebuilds only that log. Everything is torn down at the end, also on failure.

Usage: test_slurm.py WORK_DIR   (as root; skips when Slurm or munge is not installed)
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from common import Checker, run, skip  # noqa: E402

try:
    from h5compare import differences
except ImportError as e:
    skip(f"{e} (Debian python3-h5py, python3-numpy)")
for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "sacct", "scontrol"):
    if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
        skip(f"{tool} is not installed (Debian slurm-wlm, munge)")
if os.geteuid() != 0:
    skip("a local Slurm cluster needs root (slurmd runs jobs as their user)")

SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
SUBMIT = os.path.join(SRC, "tools", "slurm", "submit.sh")
c = Checker()
work = sys.argv[1]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
T = os.path.join(work, "cluster")  # munge wants every directory of its socket path searchable
for d in ("state", "spool", "log"):
    os.makedirs(os.path.join(T, d))
os.chmod(work, 0o711)
os.chmod(T, 0o711)


def sbin(tool):
    return shutil.which(tool) or f"/usr/sbin/{tool}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


host = socket.gethostname().split(".")[0]
cpus = os.cpu_count() or 1
conf = os.path.join(T, "slurm.conf")
with open(conf, "w") as fh:
    fh.write(f"""ClusterName=avtruthtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={T}/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation={T}/state
SlurmdSpoolDir={T}/spool
SlurmctldPidFile={T}/slurmctld.pid
SlurmdPidFile={T}/slurmd.pid
SlurmctldLogFile={T}/log/slurmctld.log
SlurmdLogFile={T}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=avt Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
env = dict(os.environ, SLURM_CONF=conf, AVTRUTH=os.environ["AVTRUTH"])
env.pop("OMP_NUM_THREADS", None)
daemons = []


def start(cmd):
    """A daemon in the foreground (-D / -F), so that its pid is ours to stop."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(T, "log", os.path.basename(cmd[0]) + ".err"), "w"))
    daemons.append(p)
    return p


def teardown():
    for p in reversed(daemons):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(daemons):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def show_logs():
    for n in ("slurmctld.log", "slurmd.log", "munged.log", "slurmctld.err", "slurmd.err", "munged.err"):
        p = os.path.join(T, "log", n)
        if os.path.exists(p):
            print(f"---- {n}\n" + "".join(open(p).readlines()[-15:]))


def wait_for(what, cond, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.5)
    print(f"timed out waiting for {what}")
    return False


def sh(*cmd):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def job_states(jobs):
    """Slurm's state of every job and array task of jobs (scontrol: no accounting needed)."""
    p = sh("scontrol", "-o", "show", "job")
    out = {}
    for line in p.stdout.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if f.get("ArrayJobId", f.get("JobId")) in jobs or f.get("JobId") in jobs:
            out[f["JobId"]] = f.get("JobState")
    return out


def submit_and_wait(out, *extra):
    p = subprocess.run([SUBMIT, "--group", "2", "--cpus", "1", *extra, lst, out], env=env,
                       capture_output=True, text=True, timeout=60)
    print(p.stdout + p.stderr)
    if p.returncode != 0:
        return None
    words = p.stdout.split()
    array, stitch = words[words.index("array") + 2].rstrip(":"), words[words.index("stitch") + 2]
    done = wait_for("the array and the stitch job", lambda: (
        lambda s: s and all(v in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")
                            for v in s.values()) and stitch in s)(job_states({array, stitch})), timeout=240)
    return job_states({array, stitch}) if done else None, array, stitch


try:
    key = os.path.join(T, "munge.key")
    with open(key, "wb") as fh:
        fh.write(os.urandom(1024))
    os.chmod(key, 0o400)
    start([sbin("munged"), "-F", f"--key-file={key}", f"--socket={T}/munge.sock",
           f"--pid-file={T}/munged.pid", f"--log-file={T}/log/munged.log", f"--seed-file={T}/munged.seed"])
    ok = wait_for("munged", lambda: os.path.exists(f"{T}/munge.sock"), 20)
    start([sbin("slurmctld"), "-D", "-i", "-f", conf])
    start([sbin("slurmd"), "-D", "-f", conf])
    ok = ok and wait_for("the node to be idle", lambda: "idle" in sh("sinfo", "-h", "-o", "%T").stdout, 60)
    if not ok:
        show_logs()
        raise SystemExit("the local Slurm cluster did not come up")

    # five synthetic logs, 0.4 s to 1.5 s
    logs = []
    for i, sec in enumerate((0.4, 1.5, 0.6, 1.0, 0.5)):
        d = os.path.join(work, "logs", f"s{i}")
        run("synth", d, "--seconds", sec, "--cameras", "1", "--width", "128", "--height", "80", "--seed", 91 + i)
        logs.append(d)
    lst = os.path.join(work, "logs.txt")
    with open(lst, "w") as fh:
        fh.write("\n".join(logs) + "\n")
    serial = os.path.join(work, "serial")
    run("batch", *logs, "-o", serial)
    run("stitch", serial, "-o", os.path.join(serial, "dataset.h5"))

    out = os.path.join(work, "out")
    r = submit_and_wait(out)
    states = r and r[0]
    c.check(bool(states) and all(v == "COMPLETED" for v in states.values()),
            f"3 array tasks (2 logs each, the last 1) and the stitch job completed: {states}")
    if states:
        c.check(len(states) == 4, f"3 array tasks + 1 stitch job: {states}")
    order = open(os.path.join(out, "logs.txt")).read().split()
    c.check(order[:2] == [logs[1], logs[3]], f"logs.txt lists the longest first: {order}")
    ds = os.path.join(out, "dataset.h5")
    c.check(os.path.exists(ds), "the stitch job wrote dataset.h5")
    if os.path.exists(ds):
        d = differences(os.path.join(serial, "dataset.h5"), ds)
        c.check(d == [], f"the Slurm dataset equals the serial one: {d}")
    task_out = "".join(open(os.path.join(out, n)).read() for n in sorted(os.listdir(out))
                       if n.startswith("avtruth-build-"))
    c.check(task_out.count(" frames, ") == 5, f"each log built once by the array: {task_out}")

    # resume: one output lost (a node failed); the same submission rebuilds only it
    os.remove(os.path.join(out, "s3.h5"))
    for n in os.listdir(out):
        if n.startswith("avtruth-"):
            os.remove(os.path.join(out, n))
    r = submit_and_wait(out)
    states = r and r[0]
    c.check(bool(states) and all(v == "COMPLETED" for v in states.values()), f"resubmission completed: {states}")
    task_out = "".join(open(os.path.join(out, n)).read() for n in sorted(os.listdir(out))
                       if n.startswith("avtruth-build-"))
    c.check(task_out.count("up to date (inputs unchanged), skipped") == 4 and task_out.count(" frames, ") == 1
            and "s3.h5: " in task_out, f"the resubmission rebuilds only s3: {task_out}")
    if os.path.exists(ds):
        d = differences(os.path.join(serial, "dataset.h5"), ds)
        c.check(d == [], f"after the resume the dataset equals the serial one: {d}")
    if c.failed:
        show_logs()
finally:
    teardown()
    left = [p.pid for p in daemons if p.poll() is None]
    c.check(not left, f"every daemon stopped: {left}")
shutil.rmtree(work, ignore_errors=True)
c.finish()
