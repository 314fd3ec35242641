#!/usr/bin/env python3
"""Sets bench/samejob.bt's maps beside `clonescope report`'s figures.

usage: samejob_compare.py OUT_DIR "WORKLOAD..." DESCRIPTION

OUT_DIR holds, per workload W, bpftrace-W.json (bpftrace -f json running
bench/samejob.bt) and record-W.json (clonescope report --json of a record
of the same workload), written by bench/samejob-check.sh.  Prints a
Markdown table per workload: each metric's median as clonescope measured
it (over its records) and as bpftrace's log2 histogram places it
(interpolated inside the bucket holding the median), with both counts.
"""

import json
import sys
from pathlib import Path

# clonescope report metric -> the bpftrace map holding the same quantity.
METRICS = [(name, f"@phase_{name}_ns") for name in (
    "kernel_clone", "copy_process", "dup_task", "copy_creds", "sched_fork", "task_init",
    "files_to_mm", "dup_mmap", "copy_page_range", "copy_namespaces", "copy_io",
    "copy_thread", "alloc_pid", "cgroup_can_fork", "attach", "wake_up_new_task")] + [
    ("wakeup", "@child_first_run_ns"),
    ("fork_to_exec", "@child_fork_to_exec_ns"),
    ("lifetime", "@child_fork_to_exit_ns"),
    ("zombie", "@child_exit_to_reap_ns"),
    ("cow_child_copied", "@cow_pages_child"),
    ("cow_parent_copied", "@cow_pages_parent"),
]
# clonescope's COW totals (report's "cow") -> bpftrace's @cow_total keys.
COW_TOTALS = [("child", "copy_ns", "child copy ns"), ("parent", "copy_ns", "parent copy ns"),
              ("child", "zero_copied", "child zero page"),
              ("parent", "zero_copied", "parent zero page")]


def bpftrace_maps(path):
    """Every map bpftrace printed: name -> hist buckets or {key: value}."""
    maps = {}
    for line in path.read_text().splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("type") in ("map", "hist", "stats"):
            maps.update(msg["data"])
    return maps


def hist_median(buckets):
    """(median, count) of a bpftrace log2 histogram, or (None, 0)."""
    n = sum(b["count"] for b in buckets)
    if not n:
        return None, 0
    half, seen, prev_hi = n / 2, 0, None
    for b in buckets:
        lo, hi = b.get("min", 0), b.get("max", 0) + 1
        # bpftrace 0.17 prints the bounds as int32: [2^31, 2^32) comes out
        # as [-2^31, 0] after [2^30, 2^31).
        if prev_hi is not None and lo < prev_hi:
            lo, hi = prev_hi, 2 * prev_hi
        if seen + b["count"] >= half:
            return lo + (hi - lo) * (half - seen) / b["count"], n
        seen += b["count"]
        prev_hi = hi
    return None, n


def workload_group(report):
    """The report's by-kind group of the workload's clones: the largest."""
    groups = report.get("by_kind", [])
    return max(groups, key=lambda g: g["count"], default=None)


def fmt(x, unit):
    if x is None:
        return "–"
    if unit == "ns":
        return f"{x / 1e3:.1f} µs"
    return f"{x:.0f}"


def main():
    out, workloads, desc = Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3]
    print("# bench/samejob.bt against `clonescope record`, same workloads")
    print()
    print(f"Workloads: {desc}; each run once under each tracer (the guest's clock: "
          "times are of the same order, not equal). Medians: clonescope's over its "
          "records (of its largest clone kind), bpftrace's interpolated inside its log2 "
          "bucket (a bucket spans 2×). bpftrace counts system-wide, clonescope the "
          "workload's processes: bpftrace's counts include the guest shell's forks (the "
          "one that starts the workload, a `sleep`), and its phase times the cost of its "
          "own programs at the landmarks inside them.")
    for w in workloads:
        bt = bpftrace_maps(out / f"bpftrace-{w}.json")
        report = json.loads((out / f"record-{w}.json").read_text())
        group = workload_group(report)
        metrics = group["metrics"] if group else {}
        print()
        print(f"## {w}: clonescope kind `{group['key'] if group else '?'}`, "
              f"{group['count'] if group else 0} clones")
        print()
        print("| metric | clonescope median | n | bpftrace median | n | ratio |")
        print("|---|---|---|---|---|---|")
        for name, bt_name in METRICS:
            m = metrics.get(name)
            cs, cs_n = (m["p50"], m["n"]) if m else (None, 0)
            unit = m["unit"] if m else ("pages" if name.startswith("cow") else "ns")
            bm, bn = hist_median(bt.get(bt_name, []))
            ratio = f"{bm / cs:.2f}" if bm is not None and cs else "–"
            print(f"| {name} | {fmt(cs, unit)} | {cs_n} | {fmt(bm, unit)} | {bn} | {ratio} |")
        cow = report.get("cow") or {}
        for side in ("child", "parent"):
            st = bt.get(f"@cow_{side}_copied", {})
            cs = cow.get(side, {}).get("copied")
            b = st.get("total")
            ratio = f"{b / cs:.3f}" if cs and b is not None else "–"
            print(f"| COW pages copied by the {side}: total (bpftrace: over "
                  f"{st.get('count', 0)} windows, mean {st.get('average', '–')}) | "
                  f"{fmt(cs, 'pages')} | | {fmt(b, 'pages')} | | {ratio} |")
        totals = bt.get("@cow_total", {})
        for side, field, key in COW_TOTALS:
            cs = cow.get(side, {}).get(field)
            b = totals.get(key)
            unit = "ns" if field.endswith("_ns") else "pages"
            ratio = f"{b / cs:.3f}" if cs and b is not None else "–"
            print(f"| COW total: {key} | {fmt(cs, unit)} | | {fmt(b, unit)} | | {ratio} |")
        errs = bt.get("@clone_errno", {})
        print(f"| clones failed | {group['failures'] if group else '–'} | | "
              f"{sum(errs.values())} | | |")


if __name__ == "__main__":
    main()
