"""End-to-end: `avtruth validate` and the validation inside `avtruth build` (docs/schema.md).
A clean synthetic log has no finding; planted defects are found with their file and JSON path,
errors stop build (status 1, no output file), warnings reach /meta/validation and the card;
/meta/schema is the shipped schema file's text and its class and attribute names are the
YAML's (read with PyYAML, not with our parser); stitch refuses logs of different schemas."""
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, yaml = need("h5py", "yaml")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seconds", "1", "--cameras", "1")
files = sorted(glob.glob(os.path.join(log, "labels", "*.json")))
c.check(len(files) >= 5, f"synthetic labels: {len(files)} files")

# clean: no finding, exit 0
p = run("validate", log, "--json", os.path.join(d, "clean.json"))
rep = json.load(open(os.path.join(d, "clean.json")))
c.check(p.returncode == 0 and rep["errors"] == 0 and rep["warnings"] == 0 and rep["findings"] == [],
        f"clean synthetic log: {rep['errors']} errors, {rep['warnings']} warnings")
c.check(rep["files"] == len(files), f"every label file read: {rep['files']} of {len(files)}")

# the clean build: /meta/schema is schemas/default.yaml, names are the YAML's
out = os.path.join(d, "clean.h5")
run("build", log, "-o", out)
text = open(os.path.join(ROOT, "schemas", "default.yaml")).read()
y = yaml.safe_load(text)
with h5py.File(out, "r") as f:
    c.check(f["meta/schema"].asstr()[()] == text, "/meta/schema is the default schema's text")
    names = list(f["meta/class_names"].asstr()[:])
    for k in y["classes"]:
        c.check(names[k["id"]] == k["name"], f"/meta/class_names[{k['id']}] = {k['name']}")
    c.check(names[:5] == ["none", "car", "pedestrian", "cyclist", "truck"], f"ids 1..4 kept: {names[:5]}")
    attrs = [f"{g}.{v}" for g, vals in y["attributes"].items() for v in vals]
    c.check(list(f["meta/attribute_names"].asstr()[:]) == attrs, "/meta/attribute_names in the YAML's order")
    c.check(len(f["meta/validation/rule"]) == 0, "no validation rows for a clean log")

# planted: a misspelled key, garbage between two sweeps, a 30 m car
bad = os.path.join(d, "bad")
shutil.copytree(log, bad)
bfiles = sorted(glob.glob(os.path.join(bad, "labels", "*.json")))
j = json.load(open(bfiles[2]))
j["boxes"][0]["velocty"] = j["boxes"][0].pop("velocity", [0, 0, 0])
json.dump(j, open(bfiles[2], "w"))
t0 = int(os.path.basename(bfiles[0])[:-5])
t1 = int(os.path.basename(bfiles[1])[:-5])
garbage = os.path.join(bad, "labels", f"{(t0 + t1) // 2}.json")
open(garbage, "w").write("this is not JSON")
p = run("validate", bad, "--json", os.path.join(d, "bad.json"), check=False)
rep = json.load(open(os.path.join(d, "bad.json")))
c.check(p.returncode == 1, f"validate exits 1 on errors, got {p.returncode}")
got = {(x["rule"], os.path.basename(x["file"]), x["path"]) for x in rep["findings"]}
want = {("unknown_key", os.path.basename(bfiles[2]), "boxes[0].velocty"),
        ("parse", os.path.basename(garbage), ""), ("unattached", os.path.basename(garbage), "")}
c.check(got == want, f"planted findings {sorted(want)}, got {sorted(got)}")
c.check("closest known: 'velocity'" in p.stdout, "the misspelling names the closest key")
out_bad = os.path.join(d, "bad.h5")
p = run("build", bad, "-o", out_bad, check=False)
c.check(p.returncode == 1 and not os.path.exists(out_bad), f"build stops on errors ({p.returncode}), no file")
c.check("velocty" in p.stderr and "validation errors" in p.stderr, f"build names the findings: {p.stderr[-300:]}")

# warnings only: build succeeds, the rows are in /meta/validation and the card
warn = os.path.join(d, "warn")
shutil.copytree(log, warn)
wfile = sorted(glob.glob(os.path.join(warn, "labels", "*.json")))[3]
j = json.load(open(wfile))
cars = [b for b in j["boxes"] if b["class"] == "car"]
cars[0]["size"][0] = 30.0
json.dump(j, open(wfile, "w"))
out_w = os.path.join(d, "warn.h5")
p = run("build", warn, "-o", out_w)
with h5py.File(out_w, "r") as f:
    rules = list(f["meta/validation/rule"].asstr()[:])
    paths = list(f["meta/validation/path"].asstr()[:])
    fl = list(f["meta/validation/file"].asstr()[:])
    card = f["dataset_card"].asstr()[()]
c.check("size_prior" in rules, f"size_prior in /meta/validation: {rules}")
k = rules.index("size_prior") if "size_prior" in rules else 0
c.check(fl[k:k + 1] == ["labels/" + os.path.basename(wfile)], f"row names the file relative to the log: {fl}")
c.check(paths[k:k + 1] == [f"boxes[{j['boxes'].index(cars[0])}].size[0]"], f"row names the box: {paths}")
c.check("size_prior" in card, "the dataset card lists the warning")

# usage errors and logs that cannot be checked: exit 2
c.check(run("validate", os.path.join(d, "nope"), check=False).returncode == 2, "missing log: exit 2")
c.check(run("validate", log, "--schema", "waymo", check=False).returncode == 2, "unknown schema: exit 2")

# stitch: same schema fine, a different schema refused naming both
other = os.path.join(d, "custom.yaml")
open(other, "w").write(text.replace("name: avtruth-default", "name: avtruth-custom"))
sd = os.path.join(d, "stitch")
os.makedirs(sd)
shutil.copy(out, os.path.join(sd, "a.h5"))
run("build", log, "-o", os.path.join(sd, "b.h5"), "--schema", other)
p = run("stitch", sd, "-o", os.path.join(d, "all.h5"), check=False)
c.check(p.returncode == 1 and "'avtruth-default'" in p.stderr and "'avtruth-custom'" in p.stderr
        and "a.h5" in p.stderr and "b.h5" in p.stderr, f"stitch refuses different schemas: {p.stderr.strip()}")
c.check(not os.path.exists(os.path.join(d, "all.h5")), "no index file written")
with h5py.File(os.path.join(sd, "b.h5"), "r") as f:
    c.check(f["meta/class_names"].asstr()[3] == "cyclist", "ids stable under the same class list")
os.remove(os.path.join(sd, "b.h5"))
shutil.copy(out, os.path.join(sd, "b.h5"))
p = run("stitch", sd, "-o", os.path.join(d, "all.h5"), check=False)
c.check(p.returncode == 0, f"same schema stitches: {p.stderr.strip()}")
shutil.rmtree(d)
c.finish()
