"""Command-line conventions (README "Commands"): `avtruth --version`; `avtruth COMMAND --help`
for every command listed by `avtruth help`, with usage, options, defaults and an example; a bad
option value, an unknown option or a missing value exits 2 with a message naming the option
and what it accepts; a bad LOG is an error of the work (exit 1)."""
import os
import re
import subprocess

from common import AVTRUTH, Checker, run, tmpdir

ck = Checker()

p = run("--version")
ck.check(re.match(r"avtruth \d+\.\d+\.\d+ \(git [0-9a-f]+", p.stdout), f"--version: {p.stdout!r}")

# libgomp's idle threads sleep (the CLI sets OMP_WAIT_POLICY passive before libgomp reads it)
# unless the user chose a policy. libgomp prints what it read with OMP_DISPLAY_ENV=verbose, the
# policy as PASSIVE also when none was set: the spin count tells them apart (0 only if passive).
# The avtruth command sets it and starts avtruth-core (beside it) once: libgomp, and the 55
# libraries with it, are loaded once (the core run directly sets it and starts itself again).
CORE = os.path.join(os.path.dirname(AVTRUTH), "avtruth-core")
for exe, policy, passive, loads in ((AVTRUTH, None, True, 1), (AVTRUTH, "active", False, 1),
                                    (CORE, None, True, 2), (CORE, "active", False, 1)):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["OMP_DISPLAY_ENV"] = "verbose"
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    d = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env, timeout=60)
    seen = re.findall(r"GOMP_SPINCOUNT = ('\d+')", d.stderr)
    what = f"{os.path.basename(exe)} with OMP_WAIT_POLICY={policy}"
    ck.check(d.returncode == 0 and d.stdout.startswith("avtruth "), f"{what}: --version: {d.stdout!r}")
    ck.check(seen and (seen[-1] == "'0'") == passive,
             f"{what}: OpenMP spin count {'0' if passive else 'not 0'}: {seen}")
    ck.check(len(seen) == loads, f"{what}: libgomp loaded {len(seen)} times, expected {loads}")

# the command without its core beside it: a clear error, exit 127 (as a shell's "not found")
lone = os.path.join(tmpdir(), "avtruth")
with open(AVTRUTH, "rb") as src, open(lone, "wb") as dst:
    dst.write(src.read())
os.chmod(lone, 0o755)
d = subprocess.run([lone, "--version"], capture_output=True, text=True, timeout=60)
ck.check(d.returncode == 127 and "cannot start" in d.stderr and "avtruth-core" in d.stderr,
         f"a lone launcher: exit {d.returncode}: {d.stderr.strip()!r}")

p = run("help")
commands = re.findall(r"^  (\S+) ", p.stdout.split("commands:")[1], re.M)
ck.check(len(commands) >= 8, f"help lists the commands: {commands}")
for c in commands:
    h = run(c, "--help", check=False)
    ck.check(h.returncode == 0, f"{c} --help exits 0 ({h.returncode})")
    ck.check(h.stdout.startswith(f"usage: avtruth {c}"), f"{c} --help starts with its usage")
    ck.check("example:\n  avtruth " + c in h.stdout, f"{c} --help has an example")
    ck.check("-h, --help" in h.stdout, f"{c} --help lists --help")
    u = run(c, "--no-such-option", check=False)
    ck.check(u.returncode == 2 and "--no-such-option" in u.stderr, f"{c}: unknown option exits 2 naming it")
    # every option that takes values from a list or a range: a bad value exits 2 naming the accepted ones
    for m in re.finditer(r"--([a-z0-9-]+) \S+ +.*\[([^\]]+)\]", h.stdout):
        name, accepted = m.group(1), m.group(2)
        if " or " not in accepted and " in " not in accepted:
            continue  # a description (e.g. "a calibration file"), not a closed set of values
        b = run(c, f"--{name}", "not-a-value", "x", check=False)
        ck.check(b.returncode == 2, f"{c} --{name} not-a-value exits 2 ({b.returncode}: {b.stderr.strip()})")
        ck.check(f"--{name}" in b.stderr and accepted.split(" (")[0] in b.stderr,
                 f"{c} --{name}: the message names the accepted values [{accepted}]: {b.stderr.strip()}")

h = run("build", "--help").stdout
ck.check("--sync POLICY" in h and "trigger, nearest or approximate" in h and "(default: trigger)" in h,
         "build --help: --sync with its values and default")
s = run("synth", "--help").stdout
ck.check("an integer in 0..6" in s, "synth --help: --cameras range is what synth accepts (0..6)")
ck.check(run("synth", "--cameras", "7", tmpdir() + "/x", check=False).returncode == 2, "synth --cameras 7 exits 2")
ck.check(run("build", "--sync", "bogus", "x", "-o", "y.h5", check=False).returncode == 2, "bad --sync exits 2")
ck.check(run("build", "x", "-o", check=False).returncode == 2, "-o without a value exits 2")
p = run("build", tmpdir() + "/missing", "-o", tmpdir() + "/o.h5", check=False)
ck.check(p.returncode == 1 and "missing" in p.stderr, f"a missing LOG exits 1 naming it: {p.stderr.strip()}")
ck.check(run("no-such-command", check=False).returncode == 2, "unknown command exits 2")
ck.finish()
