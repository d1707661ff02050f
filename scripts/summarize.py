#!/usr/bin/env python3
"""Counts individual checks in meson's test log (TAP lines where a test speaks TAP, the test as
one check where it does not) and prints one line: N passed, N failed[, N skipped].

Usage: summarize.py testlog.json [testlog.json ...]   exit status 1 when anything failed.
"""
import json
import re
import sys

passed = failed = skipped = 0
failures = []
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print("summarize: %s" % e, file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        rec = json.loads(line)
        out = rec.get("stdout") or ""
        results = re.findall(r"^(ok|not ok)\b[^\n]*", out, re.M)
        plan = re.search(r"^1\.\.(\d+)", out, re.M)
        if results:
            p = f = s = 0
            for m in re.finditer(r"^(ok|not ok)\b([^\n]*)", out, re.M):
                if m.group(1) == "ok" and re.search(r"#\s*SKIP", m.group(2), re.I):
                    s += 1
                elif m.group(1) == "ok":
                    p += 1
                else:
                    f += 1
                    failures.append("%s: %s" % (rec["name"], m.group(2).strip()))
            # A test that died before finishing its plan: the missing checks failed.
            if plan and int(plan.group(1)) > p + f + s:
                missing = int(plan.group(1)) - (p + f + s)
                f += missing
                failures.append("%s: %d check(s) never ran (%s)" % (rec["name"], missing, rec["result"]))
            elif rec["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
                f += 1
                failures.append("%s: %s" % (rec["name"], rec["result"]))
            passed, failed, skipped = passed + p, failed + f, skipped + s
        else:
            if rec["result"] == "OK":
                passed += 1
            elif rec["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append("%s: %s" % (rec["name"], rec["result"]))

for f in failures:
    print("FAILED " + f)
line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
sys.exit(1 if failed else 0)
