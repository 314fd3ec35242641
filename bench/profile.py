#!/usr/bin/env python3
"""Where each batch's time went, from a run's profile.txt (BENCH_PROFILE=1).

usage: profile.py OUT_DIR|PROFILE_TXT [WORKLOAD]

One line per batch (of WORKLOAD only, when given): its time per iteration,
the median iteration and the medians of its four quarters (a level that
moves inside the batch, or not), the time above median x iterations, its
iterations slower than twice the median, the other tasks' run time during
the batch and the busiest of them, and how long after the variant's
tracer started (its last "... start" mark) the batch's clock started.
"""

import re
import sys
from pathlib import Path

KV = re.compile(r"(\w+)=(\S+)")


def batches(path):
    """The batches of profile.txt, each a dict with its mark, tasks and slow iterations."""
    out, marks, cur = [], [], None
    for line in path.read_text().splitlines():
        kv = dict(KV.findall(line))
        if line.startswith("mark "):
            what = line[len("mark "):].rsplit(" uptime=", 1)[0]
            marks.append((float(kv["uptime"]), what))
            if what.startswith("batch "):
                cur = {"mark": kv, "tasks": [], "slow": [], "started": None}
                starts = [t for t, m in marks if m.endswith(" start") or m.startswith("setup ")]
                cur["started"] = starts[-1] if starts else None
                out.append(cur)
        elif line.startswith("batch ") and cur is not None:
            cur.update(kv)
        elif line.startswith("  task ") and cur is not None:
            cur["tasks"].append((kv["comm"], int(kv["ran_ns"])))
        elif line.startswith("  slow ") and cur is not None:
            cur["slow"].append(int(kv["took_ns"]))
    return [b for b in out if "elapsed_ns" in b]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = Path(sys.argv[1])
    if path.is_dir():
        path = path / "profile.txt"
    only = sys.argv[2] if len(sys.argv) > 2 else None
    for b in batches(path):
        mark = b["mark"]
        if only and mark.get("workload") != only:
            continue
        iters, elapsed = int(b["iters"]), int(b["elapsed_ns"])
        median = int(b["median_iter_ns"])
        quarters = "/".join(f"{int(b[q]) / 1e3:.1f}" for q in
                            ("q1_median_ns", "q2_median_ns", "q3_median_ns", "q4_median_ns")
                            if q in b)
        others = sum(ns for _, ns in b["tasks"])
        top = sorted(b["tasks"], key=lambda t: -t[1])[:3]
        since = (int(b["t0_ns"]) / 1e9 - b["started"]) if b["started"] is not None else None
        print(f"round {mark['round']:>2} {mark['variant']:<13} {mark['workload']:<10} "
              f"{elapsed / iters / 1e3:8.1f} µs/iter, median {median / 1e3:.1f} "
              f"[{quarters}], above median {(elapsed - median * iters) / 1e6:.2f} ms, "
              f"slow {len(b['slow'])} ({sum(b['slow']) / 1e6:.2f} ms), "
              f"others {others / 1e6:.2f} ms ("
              + ", ".join(f"{c} {ns / 1e6:.2f}" for c, ns in top) + ")"
              + (f", {since:.1f} s after its start" if since is not None else ""))


if __name__ == "__main__":
    main()
