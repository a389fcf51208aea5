#!/usr/bin/env python3
"""Run one benchmark contender and report its cost, like `/usr/bin/time -v`
(which the shared peer harness uses) but needing only python3.

usage: rusage.py SPEC_JSON
SPEC: {"cmds": [[argv...], ...], "cwd": dir, "stdout": path, "stderr": path,
       "timeout_s": s}
The commands run one after another (curl-chunked is several curl processes),
sharing the stdout/stderr files. Prints one JSON line: rc (worst exit code),
timed_out, wall_s (first spawn to last exit), user_s, sys_s (all waited-for
descendants) and maxrss_kb (the largest single process).
Every command runs in its own session and is killed by its PID's process group
when the deadline passes or when this wrapper gets SIGTERM/SIGINT.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import time

current = None


def kill_current(*_):
    if current is not None and current.poll() is None:
        try:
            os.killpg(current.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        current.wait()
    sys.exit(143)


def main():
    global current
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    signal.signal(signal.SIGTERM, kill_current)
    signal.signal(signal.SIGINT, kill_current)
    deadline = time.monotonic() + float(spec["timeout_s"])
    rc, timed_out = 0, False
    with open(spec["stdout"], "ab") as out, open(spec["stderr"], "ab") as err:
        t0 = time.perf_counter()
        for argv in spec["cmds"]:
            current = subprocess.Popen(argv, cwd=spec.get("cwd"), stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, start_new_session=True)
            try:
                code = current.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(current.pid, signal.SIGKILL)
                current.wait()
                timed_out, code = True, -9
            if code != 0 and rc == 0:
                rc = code
            if timed_out:
                break
        wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": rc, "timed_out": timed_out, "wall_s": round(wall, 4),
                      "user_s": round(ru.ru_utime, 4), "sys_s": round(ru.ru_stime, 4),
                      "maxrss_kb": ru.ru_maxrss}))


if __name__ == "__main__":
    main()
