#!/usr/bin/env python3
"""Check that each <service>.tsv here lists exactly the operations of botocore's model.

Usage: python3 validate.py [BOTOCORE_DATA_DIR]
"""
import gzip, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {
    "sqs": "sqs/2012-11-05",
    "lambda": "lambda/2015-03-31",
    "logs": "logs/2014-03-28",
    "events": "events/2015-10-07",
    "iam": "iam/2010-05-08",
    "sts": "sts/2011-06-15",
}
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def botocore_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    import botocore
    return os.path.join(os.path.dirname(botocore.__file__), "data")


def main():
    data = botocore_dir()
    bad = 0
    for svc, ver in MODELS.items():
        with gzip.open(os.path.join(data, ver, "service-2.json.gz")) as f:
            ops = sorted(json.load(f)["operations"])
        with open(os.path.join(HERE, svc + ".tsv"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        errs = []
        if lines[0] != "operation\taction\tresource":
            errs.append("bad header")
        rows = [l.split("\t") for l in lines[1:]]
        for r in rows:
            if len(r) != 3:
                errs.append("not 3 columns: %r" % (r,))
                continue
            op, act, res = r
            if act != "-" and not all(ACTION.match(a) for a in act.split(",")):
                errs.append("bad action %s: %s" % (op, act))
            if act != "-" and not act.startswith(svc + ":"):
                errs.append("primary action not in %s: %s" % (svc, op))
            if res != "*" and not res.startswith("arn:${Partition}:"):
                errs.append("bad resource %s: %s" % (op, res))
        names = [r[0] for r in rows]
        if names != sorted(names):
            errs.append("not sorted")
        if len(set(names)) != len(names):
            errs.append("duplicates")
        missing = sorted(set(ops) - set(names))
        extra = sorted(set(names) - set(ops))
        if missing:
            errs.append("missing: %s" % missing)
        if extra:
            errs.append("not in model: %s" % extra)
        print("%-7s model=%3d tsv=%3d %s" % (svc, len(ops), len(names), "OK" if not errs else "FAIL"))
        for e in errs:
            print("   ", e)
        bad += bool(errs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
