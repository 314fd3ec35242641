#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write Documentation/case-studies.rst from the raw output of one
`make cases` guest run (bench/cases/guest-cases.sh).

usage: report.py OUT_DIR DOC

Every number in the document is computed here from OUT_DIR: the traces
(*.cst, decoded with the layout of uapi/linux/clonescope.h), what
`clonescope record` and `clonescope report` printed (*.out, *.report,
*.json) and the workloads' own key=value lines (*.res).  Nothing is typed
in by hand; the prose only says what the numbers mean.
"""

import json
import os
import statistics
import struct
import sys

# ---------------------------------------------------------------- decoding

PHASES = ["dup_task", "copy_creds", "sched_fork", "task_init", "files_to_mm",
          "copy_namespaces", "copy_io", "copy_thread", "alloc_pid",
          "cgroup_can_fork", "attach", "dup_mmap", "copy_page_range",
          "copy_process", "wake_up_new_task", "kernel_clone"]
SYSCALLS = {0: "kernel", 1: "clone", 2: "clone3", 3: "fork", 4: "vfork"}
CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
FLAG_FAILED, FLAG_RESTART = 1, 2
REC_CLONE, REC_CHILD_START, REC_LOST, REC_COW = 1, 2, 3, 4
PHASE_NONE = 0xffffffff
ERRNO = {11: "EAGAIN", 12: "ENOMEM", 4: "EINTR", 513: "ERESTARTNOINTR", 22: "EINVAL"}

HDR = struct.Struct("<HHIQ")
CLONE = struct.Struct("<HHIQ QQQQQq IIIIIiIIIIII 16s 32Q")
COUNTS = ["copied", "reused", "zero_copied", "copy_ns", "thp_faults",
          "thp_fallback", "hugetlb_faults", "hugetlb_copied", "hugetlb_bytes"]
COW = struct.Struct("<HHIQ QQQ II IIII 9Q 9Q")
assert CLONE.size == 384 and COW.size == 208


SECTION_KERNEL, SECTION_USER = 2, 3
# tool/preload/user_trace.h: the file header's leading fields, and a call
USER_FILE = struct.Struct("<8sII")
USER_CALL = struct.Struct("<HHI Ii q QQQ q")
USER_RECORD_CALL, USER_KIND_FORK = 1, 1


def read_sections(path, stype_wanted):
    """The payloads of the sections of one type in a .cst file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"CLNSCOPE":
        raise SystemExit(f"{path}: not a clonescope trace")
    major, _minor, hsize = struct.unpack_from("<HHI", data, 8)
    if major != 1:
        raise SystemExit(f"{path}: trace version {major} is not 1")
    off, out = hsize, []
    while off + 16 <= len(data):
        stype, _flags, size = struct.unpack_from("<IIQ", data, off)
        off += 16
        if stype == stype_wanted:
            out.append(data[off:off + size])
        off += (size + 7) & ~7
    return out


def read_kernel_stream(path):
    """The KERNEL_RECORDS payloads of a .cst file, concatenated."""
    return b"".join(read_sections(path, SECTION_KERNEL))


def user_calls(path):
    """The shim's call records of a .cst file: kind, tid, ret, entry,
    return, child, one dict each."""
    calls = []
    for stream in read_sections(path, SECTION_USER):
        magic, _version, hsize = USER_FILE.unpack_from(stream, 0)
        if magic != b"CSUSERTR":
            raise SystemExit(f"{path}: bad user stream")
        off = hsize
        while off + 8 <= len(stream):
            rtype, size, tid = struct.unpack_from("<HHI", stream, off)
            if size < 8:
                raise SystemExit(f"{path}: bad user record size {size}")
            if rtype == USER_RECORD_CALL and size >= USER_CALL.size:
                v = USER_CALL.unpack_from(stream, off)
                calls.append({"kind": v[3], "tid": tid, "ret": v[5], "entry": v[6],
                              "return": v[7], "child": v[9]})
            off += size
    return calls


CLONE_TIMED = 1 << 3  # CLONESCOPE_CLONE_TIMED


def decode(path):
    clones, cows = [], []
    data = read_kernel_stream(path)
    off = 0
    while off + HDR.size <= len(data):
        rtype, size, _cpu, ts = HDR.unpack_from(data, off)
        if size < HDR.size:
            raise SystemExit(f"{path}: bad record size {size} at {off}")
        if rtype == REC_CLONE and size >= CLONE.size:
            v = CLONE.unpack_from(data, off)
            c = {"ts": ts, "flags_clone": v[4], "start": v[5], "end": v[6],
                 "mask": v[7], "self": v[8], "result": v[9], "ppid": v[10],
                 "ptgid": v[11], "pid": v[12], "tgid": v[13],
                 "syscall": SYSCALLS.get(v[14], str(v[14])), "flags": v[16],
                 "failed_phase": v[17], "cpr_calls": v[18],
                 "comm": v[22].split(b"\0")[0].decode(errors="replace")}
            ph = v[23:]
            c["ph"] = {name: ph[2 * i + 1] if c["mask"] & (1 << i) else None
                       for i, name in enumerate(PHASES)}
            c["total"] = c["end"] - c["start"]
            clones.append(c)
        elif rtype == REC_COW and size >= COW.size:
            v = COW.unpack_from(data, off)
            cows.append({"ts": ts, "fork_ns": v[4], "rss_anon": v[5],
                         "map_count": v[7], "end_reason": v[8],
                         "child_pid": v[9], "parent_pid": v[11],
                         "child": dict(zip(COUNTS, v[13:22])),
                         "parent": dict(zip(COUNTS, v[22:31]))})
        off += size
    clones.sort(key=lambda c: c["start"])
    return clones, cows


class Run:
    """Everything one `run ID ...` of guest-cases.sh left behind."""

    def __init__(self, out, rid):
        self.id = rid
        base = os.path.join(out, rid)
        self.ok = os.path.exists(base + ".cst")
        self.cmd = read(base + ".cmd").strip()
        self.out = read(base + ".out")
        self.report = read(base + ".report")
        try:
            self.json = json.loads(read(base + ".json") or "{}")
        except json.JSONDecodeError:
            self.json = {}
        self.res = []
        for line in read(base + ".res").splitlines():
            parts = line.split()
            if not parts:
                continue
            kv = dict(p.split("=", 1) for p in parts if "=" in p)
            kind = parts[0] if "=" not in parts[0] else "wall"
            self.res.append((kind, kv))
        self.clones, self.cows = decode(base + ".cst") if self.ok else ([], [])

    def res_of(self, kind):
        return [kv for k, kv in self.res if k == kind]

    def forks(self):
        """Successful clones without CLONE_VM (the address space copied)."""
        return [c for c in self.clones
                if c["result"] > 0 and not c["flags_clone"] & CLONE_VM]

    def cow_of(self, pid):
        for w in self.cows:
            if w["child_pid"] == pid:
                return w
        return None

    def command(self):
        return f"clonescope record -o {self.id}.cst -- cs-cases {self.id}.res {self.cmd}"


OUT_DIR = "."  # the run's directory (main sets it)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------- formatting

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ms(ns, digits=2):
    return "n/a" if ns is None else f"{ns / 1e6:.{digits}f}"


def us(ns, digits=1):
    return "n/a" if ns is None else f"{ns / 1e3:.{digits}f}"


def pct(part, whole):
    return "n/a" if not whole or part is None else f"{100.0 * part / whole:.0f}%"


def table(header, rows):
    """An RST simple table."""
    cols = [list(map(str, col)) for col in zip(header, *rows)]
    widths = [max(len(x) for x in col) for col in cols]
    sep = "  ".join("=" * w for w in widths)
    lines = [sep, "  ".join(h.ljust(w) for h, w in zip(header, widths)), sep]
    for row in rows:
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    lines.append(sep)
    return "\n".join(lines) + "\n"


def literal(text):
    body = "\n".join("  " + line if line else "" for line in text.rstrip("\n").splitlines())
    return "::\n\n" + body + "\n"


def trim_out(run, clones=2, cows=2, restarts=None, failed=True):
    """The first CLONES clone records (with their phase lines) and COW
    lines of what `record` printed, failed ones, and its summary."""
    lines = run.out.splitlines()
    keep, n_clone, n_cow, skipped, i = [], 0, 0, 0, 0
    while i < len(lines):
        line = lines[i]
        block = [line]
        while i + 1 < len(lines) and lines[i + 1].startswith(" " * 13) and \
                lines[i + 1].strip().split(":")[0] in ("phases", "unavailable"):
            i += 1
            block.append(lines[i])
        i += 1
        if line.startswith("clonescope:"):
            if "wrote" not in line:
                keep.extend(block)
            continue
        if " COW of fork " in line:
            if n_cow < cows:
                keep.extend(block)
                n_cow += 1
            else:
                skipped += 1
            continue
        if " -> " in line:
            is_fail = " -> E" in line
            is_restart = "(restarted)" in line
            if n_clone < clones or (failed and is_fail and not is_restart) or \
                    (is_restart and restarts is not None and restarts > 0):
                keep.extend(block)
                if is_restart and restarts is not None:
                    restarts -= 1
                else:
                    n_clone += 1
            else:
                skipped += 1
            continue
    if skipped:
        keep.insert(len(keep) - 2 if len(keep) >= 2 else 0,
                    f"    [... {skipped} more records ...]")
    return "\n".join(keep)


def trim_report(run, metrics, kinds=None):
    """The metric rows of `clonescope report` for each kind."""
    out, cur, keep_kind = [], None, False
    section = None
    for line in run.report.splitlines():
        if line.startswith("=== "):
            section = line
            if "by kind" not in line and out:
                break
            continue
        if section is None or "by kind" not in section:
            continue
        if line and not line.startswith(" "):
            cur = line.strip()
            keep_kind = kinds is None or cur in kinds
            if keep_kind:
                out.append(line)
            continue
        if not keep_kind:
            continue
        s = line.strip()
        if s.startswith("kinds:") or s.startswith("metric") or s.startswith("failed with") \
                or s.startswith("unavailable:"):
            out.append(line)
        elif s.split(" ")[0] in metrics:
            out.append(line)
    return "\n".join(out)


def fit_slope(xs, ys):
    """Least-squares slope of ys over xs."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else None


# ---------------------------------------------------------------- the studies

def intro(meta, host, status_runs, all_runs):
    forks = [c for r in all_runs for c in r.forks()]
    # A 1.5 module times one clone in 16 (CLONESCOPE_CLONE_TIMED); the
    # others carry no self-cost.  An older one timed every clone, unflagged.
    timed = [c for c in forks if c["flags"] & CLONE_TIMED]
    self_costs = [c["self"] for c in (timed or forks)]
    s = []
    s.append(".. SPDX-License-Identifier: GPL-2.0\n")
    s.append(".. This file is generated by bench/cases/report.py from a `make cases` run;\n"
             "   edit the generator, not this file.\n")
    s.append("=======================\nclonescope case studies\n=======================\n")
    s.append(
        "Seven questions people ask when ``fork()`` is slow, six answered with a\n"
        "workload (``bench/cases/cs-cases.c``) and one with Redis, each run under\n"
        "``clonescope record``, and what clonescope printed.  All seven ran in one\n"
        "guest boot; ``make cases``\n"
        "reruns them and regenerates this file (``bench/cases/run.sh`` boots the\n"
        "guest, ``bench/cases/guest-cases.sh`` runs the studies in it,\n"
        "``bench/cases/report.py`` writes this document from the raw output: every\n"
        "number and every output excerpt below is pasted by it, none typed).\n")
    s.append(".. contents:: :local:\n")
    s.append("Where these numbers come from\n=============================\n")
    rows = [
        ("guest kernel", meta.get("kernel", "?")),
        ("CPU", f"{meta.get('cpu_model', '?')}, {meta.get('cpus', '?')} vCPUs, "
                f"{host.get('accel', 'tcg').upper()} (emulated; host CPU: "
                f"{host.get('host_cpu', '?')})"),
        ("memory", f"{int(meta.get('mem_total_kb', 0)) // 1024} MiB MemTotal"),
        ("THP", f"enabled: ``{meta.get('thp_enabled', '?')}``; defrag: "
                f"``{meta.get('thp_defrag', '?')}``"),
        ("C library", meta.get("glibc", "?")),
        ("clock", f"clocksource {meta.get('clocksource', '?')}"),
        ("run time", f"{meta.get('guest_seconds', '?')} s in the guest, "
                     f"{host.get('host_seconds', '?')} s in all"),
    ]
    s.append(table(["what", "value"], rows))
    s.append(
        "\n**Absolute times here are emulated.**  The guest runs under QEMU's TCG:\n"
        "no hardware virtualisation, every guest instruction is translated, and\n"
        "every guest memory access goes through QEMU's software TLB.  Kernel\n"
        "code that walks and writes page tables, which is what a big fork does,\n"
        "is hit hardest.  A fork here takes several times longer than on real\n"
        "hardware (study 1 measures by how much), and timings are noisy (other\n"
        "guests and compilers share the two host cores).  What carries over to real machines is the *shape*:\n"
        "which phase grows with what, what disappears, what a failure costs,\n"
        "ratios between variants measured in the same run.  Each figure is the\n"
        "median of several repetitions.\n")
    s.append(
        "\nThe times include clonescope's own probes.  Each clone record carries\n"
        "the time its handlers took (``self_cost_ns``, measured on one clone in\n"
        f"16): the median over the timed forks of these runs is {us(med(self_costs))}\n"
        "µs per fork, small next to the\n"
        "fork times below.  Page faults in a parent under watch also run a probe\n"
        "handler each, which slows the workloads' write loops, not the forks.\n")
    s.append(
        "\nThe workload program writes its own view (``clock_gettime`` around the\n"
        "libc call, ``/proc/PID/smaps``) to a results file; it is shown beside\n"
        "clonescope's records where it helps.  ``record`` also injects its\n"
        "LD_PRELOAD shim, so the *user* time of a call (what the program saw)\n"
        "is known next to the kernel's *total* (syscall entry to return).\n")
    return "\n".join(s)


def study1(runs, sizes):
    s = ["\n1. Fork latency against parent size\n===================================\n"]
    s.append(
        "A parent maps *N* MiB of anonymous memory with ``MADV_NOHUGEPAGE`` (4K\n"
        "pages), writes every page, then forks; the child exits at once.  Before\n"
        "each of the repetitions the parent writes every page again, so each fork\n"
        "copies the same thing.  The commands (one per size)::\n\n")
    for mib in sizes:
        s.append(f"  {runs[mib].command()}\n")
    big = runs[sizes[-1]]
    s.append(f"\nWhat ``record`` printed for the {sizes[-1]} MiB parent (trimmed):\n\n")
    s.append(literal(trim_out(big, clones=2, cows=1)))
    s.append("\nand ``clonescope report`` of that trace (the rows used below):\n\n")
    s.append(literal(trim_report(big, ["total", "user", "files_to_mm", "dup_mmap",
                                       "copy_page_range", "copy_process",
                                       "wake_up_new_task", "kernel_clone"])))
    rows, xs, ys, ycpr = [], [], [], []
    for mib in sizes:
        r = runs[mib]
        f = r.forks()
        tot = med(c["total"] for c in f)
        cpr = med(c["ph"]["copy_page_range"] for c in f)
        dm = med(c["ph"]["dup_mmap"] - c["ph"]["copy_page_range"] for c in f
                 if c["ph"]["dup_mmap"] is not None and c["ph"]["copy_page_range"] is not None)
        fm = med(c["ph"]["files_to_mm"] - c["ph"]["dup_mmap"] for c in f
                 if c["ph"]["files_to_mm"] is not None and c["ph"]["dup_mmap"] is not None)
        rest = med(c["total"] - c["ph"]["files_to_mm"] for c in f
                   if c["ph"]["files_to_mm"] is not None)
        user = med(int(kv["user_ns"]) for kv in r.res_of("fork"))
        gib = mib / 1024
        rows.append((mib, len(f), ms(tot), ms(cpr), ms(dm), ms(fm), ms(rest), ms(user),
                     f"{tot / 1e6 / gib:.0f}" if tot else "n/a",
                     f"{cpr / (mib * 256):.0f}" if cpr else "n/a"))
        if tot and cpr:
            xs.append(gib)
            ys.append(tot)
            ycpr.append(cpr)
    s.append("\nMedians over the repetitions, in ms (the last two columns: total per\n"
             "GiB of parent, and ``copy_page_range`` time per 4K page mapped):\n\n")
    s.append(table(["MiB", "forks", "total", "copy_page_range", "rest of dup_mmap",
                    "rest of files_to_mm", "everything else", "fork() in user",
                    "ms/GiB", "ns/page"], rows))
    slope, slope_cpr = fit_slope(xs, ys), fit_slope(xs, ycpr)
    slope = slope or 0
    big_f = big.forks()
    big_tot = med(c["total"] for c in big_f)
    big_cpr = med(c["ph"]["copy_page_range"] for c in big_f)
    small_tot = med(c["total"] for c in runs[sizes[0]].forks())
    s.append(
        "\n*total* is the clone syscall from entry to return; *copy_page_range* is\n"
        "the page-table copy summed over the VMAs that needed it; *rest of\n"
        "dup_mmap* is the rest of the address-space copy (VMA structures, anon_vma\n"
        "chains, the maple tree); *rest of files_to_mm* is ``copy_files``,\n"
        "``copy_fs``, ``copy_sighand``, ``copy_signal`` and ``copy_mm`` outside\n"
        "``dup_mmap``; *everything else* is the rest of ``copy_process`` plus\n"
        "waking the child.\n")
    if slope:
        s.append(
            f"\nThe fitted slope is **{slope / 1e6:.0f} ms per GiB** of parent,\n"
            f"{slope / 1e6 / 10:.0f} times the 10 ms/GB of real hardware\n"
            f"({slope_cpr / 1e6:.0f} ms/GiB of it in ``copy_page_range``); at\n"
            f"{sizes[-1]} MiB the page-table copy is {pct(big_cpr, big_tot)} of the\n"
            f"fork, at {sizes[0]} MiB the fork costs {ms(small_tot)} ms, most of it\n"
            "fixed costs that do not depend on the size.\n")
    firsts = [c["total"] for c in big_f[:1]]
    if firsts and big_tot and firsts[0] > 1.5 * big_tot:
        s.append(
            f"\nThe first fork of the biggest parent was the slowest ({ms(firsts[0])} ms\n"
            f"at {sizes[-1]} MiB against a median of {ms(big_tot)} ms), most likely\n"
            "because the child's page tables went into guest pages used for the\n"
            "first time, which the emulator has to back with host memory first.\n"
            "The medians leave such outliers out.\n")
    s.append(
        "\n**Against the published numbers.**  Redis's latency documentation\n"
        "(\"Fork time in different systems\") lists forks of 9 to 13 ms per GB\n"
        "on physical machines and VMware, about 23 ms/GB under KVM, and over\n"
        "200 ms/GB on old Xen EC2 instances, where page-table updates trap to\n"
        "the hypervisor; the common rule of thumb is 10-20 ms per GB with THP\n"
        "off.  The shape here is the same: the cost is linear in the mapped\n"
        "memory and the page-table copy is the part that grows with it,\n"
        "because a 4K-page parent has one PTE to copy per 4 KiB (262144 per\n"
        "GiB), and for each one 6.1 also takes a reference on the page and\n"
        "checks whether it may stay shared (``page_try_dup_anon_rmap``), then\n"
        "write-protects the parent's PTE.  The absolute figure is larger\n"
        f"({slope / 1e6 / 10:.0f} times the rule of thumb) because every one of\n"
        "those memory accesses is emulated by TCG (no hardware page walker, no\n"
        "KVM), not because 6.1 forks slowly; the per-page figure above is the\n"
        "number to compare with a real machine's (10 ms/GB is 38 ns per 4K\n"
        "page).  Redis's table shows how much the platform matters (from about\n"
        "9 ms/GB on bare metal to over 200 ms/GB on old Xen, where each\n"
        "page-table update traps); this emulated guest lands in between.\n"
        "The gap between *fork() in user* and *total* is the libc wrapper, the\n"
        "LD_PRELOAD shim and, mostly, the time until the parent runs again\n"
        "after the child was woken.\n")
    return "".join(s)


def study2(r0, r1):
    s = ["\n2. Transparent huge pages on and off\n====================================\n"]
    s.append(
        "The same parent twice, once ``MADV_NOHUGEPAGE`` and once\n"
        "``MADV_HUGEPAGE`` (the region is 2 MiB aligned), forking the same\n"
        "number of times; then one more fork whose child waits while the parent\n"
        "writes one byte in every 128th 4K page (four writes per 2 MiB), so\n"
        "every huge page takes a COW fault.  Commands::\n\n"
        f"  {r0.command()}\n  {r1.command()}\n")
    s.append("\nWith THP, what ``record`` printed (trimmed):\n\n")
    s.append(literal(trim_out(r1, clones=2, cows=1)))
    rows = []
    cow_rows = []
    for name, r in (("off (4K)", r0), ("on (THP)", r1)):
        cow = r.res_of("cow")[0] if r.res_of("cow") else {}
        cow_pid = int(cow.get("pid", -1))
        f = [c for c in r.forks() if c["pid"] != cow_pid]
        smaps = {kv.get("who"): kv for kv in r.res_of("smaps")}
        rows.append((name, smaps.get("parent", {}).get("anon_huge_kb", "?"),
                     len(f), ms(med(c["total"] for c in f)),
                     ms(med(c["ph"]["dup_mmap"] for c in f)),
                     ms(med(c["ph"]["copy_page_range"] for c in f), 3)))
        w = r.cow_of(cow_pid)
        if w:
            p = w["parent"]
            cow_rows.append((name, cow.get("writes", "?"), p["copied"], p["thp_faults"],
                             p["thp_fallback"], ms(p["copy_ns"]),
                             ms(int(cow.get("write_ns", 0))),
                             smaps.get("parent-after-writes", {}).get("anon_huge_kb", "?"),
                             smaps.get("child-after-writes", {}).get("anon_huge_kb", "?")))
    s.append("\nThe forks (medians, ms):\n\n")
    s.append(table(["THP", "AnonHugePages kB", "forks", "total", "dup_mmap",
                    "copy_page_range"], rows))
    s.append("\nThe COW pass: the parent's counts from clonescope's COW record of that\n"
             "fork, the write loop's time from the workload, and ``AnonHugePages``\n"
             "of the region in each process's smaps after the writes:\n\n")
    s.append(table(["THP", "writes", "copied", "thp_faults", "thp_fallback",
                    "copy time ms", "write loop ms", "parent AnonHuge kB",
                    "child AnonHuge kB"], cow_rows))
    cpr = [med(c["ph"]["copy_page_range"] for c in r.forks()
               if c["pid"] != int((r.res_of("cow") or [{}])[0].get("pid", -1)))
           for r in (r0, r1)]
    s.append(
        "\n**What it shows.**  With THP the fork copies one PMD entry per 2 MiB\n"
        f"instead of 512 PTEs: ``copy_page_range`` goes from {ms(cpr[0], 3)} ms to\n"
        f"{ms(cpr[1], 3)} ms (median) for the same {r0.cmd.split()[1]} MiB.  The bill\n"
        "moves to the first write into each huge page afterwards: on 6.1 a COW\n"
        "fault on a shared THP does *not* copy 2 MiB.  ``do_huge_pmd_wp_page``\n"
        "splits the parent's PMD into 512 PTEs and falls back to a 4K COW of the\n"
        "one page written (``thp_fallback`` = ``thp_faults``, and the 4K copies\n"
        "show in ``copied``); the parent's mapping of the region is no longer\n"
        "huge afterwards (``AnonHugePages`` 0), the child's still is.  The\n"
        "warning that \"a single byte written into a huge page copies 2 MB\"\n"
        "dates from kernels before 5.8, which copied the whole huge page.  On\n"
        "6.1 THP makes the fork itself cheaper and each first write into a\n"
        f"huge page dearer (a split plus a 4K copy: the write loop took\n"
        f"{cow_rows[1][6] if len(cow_rows) > 1 else '?'} ms with THP against "
        f"{cow_rows[0][6] if cow_rows else '?'} ms without) and leaves the parent without huge pages until\n"
        "khugepaged collapses them again; Redis's advice to turn THP off still\n"
        "stands for its other reasons (allocation and compaction stalls, memory\n"
        "bloat), not for the size of the copy.\n")
    return "".join(s)


def study3(runs, modes):
    s = ["\n3. fork+exec, vfork+exec, posix_spawn, clone(CLONE_VM|CLONE_VFORK)\n"
         "==================================================================\n"]
    first = runs[modes[0]]
    mib = first.cmd.split()[2] if len(first.cmd.split()) > 2 else "?"
    s.append(
        f"A {mib} MiB parent (4K pages) starts ``/bin/true`` in four ways; right\n"
        "after each start it writes a fixed number of its pages (a server that\n"
        "goes on working), then reaps the child.  Commands::\n\n")
    for m in modes:
        s.append(f"  {runs[m].command()}\n")
    for m in ("fork", "spawn"):
        s.append(f"\n``{m}``: what ``record`` printed (trimmed):\n\n")
        s.append(literal(trim_out(runs[m], clones=1, cows=1)))
    rows = []
    for m in modes:
        r = runs[m]
        cl = [c for c in r.clones if c["result"] > 0]
        sysc = sorted({c["syscall"] for c in cl})
        flags = "CLONE_VM|CLONE_VFORK" if cl and all(
            c["flags_clone"] & (CLONE_VM | CLONE_VFORK) == CLONE_VM | CLONE_VFORK for c in cl) \
            else "(no CLONE_VM)"
        wait = med(c["ph"]["kernel_clone"] - c["ph"]["copy_process"]
                   - (c["ph"]["wake_up_new_task"] or 0) for c in cl
                   if c["ph"]["kernel_clone"] is not None and c["ph"]["copy_process"] is not None)
        parent_cp = [w["parent"]["copied"] for w in r.cows]
        child_cp = [w["child"]["copied"] for w in r.cows]
        user = med(int(kv["user_ns"]) for kv in r.res_of("spawn"))
        writes = r.res_of("spawn")[0].get("writes", "?") if r.res_of("spawn") else "?"
        rows.append((m, "/".join(sysc), flags, len(cl),
                     ms(med(c["ph"]["copy_process"] for c in cl)),
                     ms(med(c["ph"]["files_to_mm"] for c in cl), 3),
                     ms(med(c["ph"]["dup_mmap"] for c in cl)),
                     ms(med(c["ph"]["copy_page_range"] for c in cl)),
                     ms(wait) if flags.startswith("CLONE_VM") else "-",
                     ms(user),
                     f"{med(parent_cp):.0f}/{writes}" if parent_cp else f"0/{writes}",
                     f"{med(child_cp):.0f}" if child_cp else "0"))
    s.append("\nMedians per start, in ms; COW pages are per start, from the COW\n"
             "records (a CLONE_VM start has no COW window: nothing is shared\n"
             "copy-on-write):\n\n")
    s.append(table(["mode", "syscall", "flags", "n", "copy_process", "files_to_mm",
                    "dup_mmap", "copy_page_range", "vfork wait", "call in user",
                    "parent COW / writes", "child COW"], rows))
    s.append(
        "\n*vfork wait* is ``kernel_clone`` minus ``copy_process`` and the wake-up:\n"
        "the parent sleeping until the child has exec'd (a CLONE_VFORK parent\n"
        "returns only then), which is why the kernel total of those calls is\n"
        "not their cost to the machine.  It is the child's time on its way to\n"
        "``execve`` (for ``posix_spawn``, glibc's child-side set-up, then the\n"
        "first part of ``execve``), which clonescope sees as a whole but does\n"
        "not break down; it is noisy here and differs between the modes for\n"
        "reasons outside the clone itself.\n")
    s.append(
        "\n**What it shows.**  With ``CLONE_VM`` the address-space copy is gone:\n"
        "``dup_mmap`` and ``copy_page_range`` are not even reached (clonescope\n"
        "lists them *unavailable*, not zero), ``files_to_mm`` shrinks to the\n"
        "file table and signal state, and ``copy_process`` no longer depends on\n"
        "the parent's size.  glibc 2.36 implements ``posix_spawn`` as\n"
        "``clone3(CLONE_VM|CLONE_VFORK)`` on a separate stack, so in the kernel\n"
        "it is the same operation as the hand-written clone, and ``vfork`` the\n"
        "same again through its own syscall.  This is \"A fork() in the road\"\n"
        "(HotOS 2019)'s point: ``posix_spawn`` costs about the same whatever the\n"
        "parent's size, while fork+exec pays the page-table copy first and then a\n"
        "COW bill: every page the parent writes before the child's ``execve``\n"
        "is copied (and the child copies a few pages of its own stack and libc\n"
        "data on its way to ``execve``), for a child that is about to throw the\n"
        "copy away.  How many of the parent's writes become copies depends only\n"
        "on how long the child takes to reach ``execve``.\n")
    return "".join(s)


def study4(r):
    s = ["\n4. The COW bill of a snapshot fork\n==================================\n"]
    hdr = r.res_of("cowbill")[0] if r.res_of("cowbill") else {}
    s.append(
        f"Redis's ``BGSAVE`` pattern: a {hdr.get('mib', '?')} MiB parent forks; the\n"
        "child reads the whole region once (the snapshot) and waits; the parent\n"
        f"goes on writing {hdr.get('writes', '?')} random pages (as many writes as\n"
        "the region has pages, repeats allowed, like updates to random keys), in\n"
        "steps, reading its own and the child's ``/proc/PID/smaps`` entry for the\n"
        f"region after each step.  Command::\n\n  {r.command()}\n")
    s.append("\nWhat ``record`` printed:\n\n")
    s.append(literal(trim_out(r, clones=1, cows=1)))
    rows = []
    for kv in r.res_of("step"):
        rows.append((kv["n"], kv["t_ms"], kv["writes"], kv["distinct"],
                     int(kv["parent_private_dirty_kb"]) // 4,
                     int(kv["parent_shared_dirty_kb"]) // 4,
                     int(kv["child_private_dirty_kb"]) // 4))
    s.append("\nThe workload's view over time (smaps sizes in 4K pages):\n\n")
    s.append(table(["step", "ms since fork", "writes", "distinct pages written",
                    "parent Private_Dirty", "parent Shared_Dirty",
                    "child Private_Dirty"], rows))
    pid = int(hdr.get("pid", -1))
    w = r.cow_of(pid)
    last = r.res_of("step")[-1] if r.res_of("step") else {}
    if w:
        p, c = w["parent"], w["child"]
        s.append("\nclonescope's COW record of that fork (written when the child exited):\n\n")
        s.append(table(["", "copied", "reused", "zero_copied", "copy time ms"], [
            ("parent", p["copied"], p["reused"], p["zero_copied"], ms(p["copy_ns"])),
            ("child", c["copied"], c["reused"], c["zero_copied"], ms(c["copy_ns"]))]))
        distinct = int(last.get("distinct", 0))
        priv = int(last.get("parent_private_dirty_kb", 0)) // 4
        s.append(
            f"\n**What it shows.**  The parent wrote {last.get('writes', '?')} times but\n"
            f"touched {distinct} distinct pages, and COW copied exactly once per\n"
            f"distinct page: clonescope counts {p['copied']} copies by the parent (the\n"
            f"{p['copied'] - distinct} beyond the region are its stack and libc data),\n"
            f"and smaps shows {priv} pages of the region as the parent's\n"
            "``Private_Dirty``.  The bill is set by how many *different* pages are\n"
            "written while the child lives, not by the write rate: it grows\n"
            "like 1 - e^(-writes/pages) and stops at the region's size.  The smaps\n"
            "view is symmetric: a page the parent copied becomes private in both\n"
            "processes (the parent has the copy, the child is now the only user\n"
            "of the original), so the child's ``Private_Dirty`` grows the same\n"
            "way although the child wrote nothing.  That is what Redis logs as\n"
            "\"RDB: N MB of memory used by copy-on-write\" (it reads the child's\n"
            "``Private_Dirty``).  smaps says *how much* is no longer shared;\n"
            "clonescope says *which fork* it is charged to, *who* copied (parent\n"
            f"{p['copied']}, child {c['copied']}), and what the copying cost in\n"
            f"kernel time ({ms(p['copy_ns'] + c['copy_ns'])} ms here, emulated), with\n"
            "first-touch zero-page fills kept apart (``zero_copied``).\n")
    s.append(
        "\nclonescope gives the bill once, when the child exits; the over-time\n"
        "column comes from the workload's smaps reads.  A periodic COW\n"
        "progress record would let clonescope draw that curve itself.\n")
    return "".join(s)


def kind_metrics(run, kind):
    for k in run.json.get("by_kind", []):
        if k.get("key") == kind:
            return k.get("metrics", {})
    return {}


def study5(r):
    s = ["\n5. Threads against processes\n============================\n"]
    hdr = r.res_of("threads")[0] if r.res_of("threads") else {}
    s.append(
        f"A {hdr.get('mib', '?')} MiB parent alternates ``pthread_create`` + join\n"
        f"and fork + wait, {hdr.get('n', '?')} times each.  Command::\n\n  {r.command()}\n")
    s.append("\n``clonescope report`` of the trace (trimmed to the by-kind tables):\n\n")
    s.append(literal(trim_report(r, ["total", "user", "dup_task", "copy_creds",
                                     "sched_fork", "task_init", "files_to_mm",
                                     "copy_thread", "alloc_pid", "attach", "dup_mmap",
                                     "copy_page_range", "copy_process",
                                     "wake_up_new_task"])))
    th, fk = kind_metrics(r, "thread"), kind_metrics(r, "fork")
    rows = []
    for m in ["total", "user", "dup_task", "copy_creds", "sched_fork", "task_init",
              "files_to_mm", "copy_namespaces", "copy_io", "copy_thread", "alloc_pid",
              "cgroup_can_fork", "attach", "dup_mmap", "copy_page_range",
              "copy_process", "wake_up_new_task"]:
        a = (th.get(m) or {}).get("p50")
        b = (fk.get(m) or {}).get("p50")
        ratio = f"{b / a:.1f}x" if a and b else "-"
        rows.append((m, us(a) if a is not None else "unavailable",
                     us(b) if b is not None else "unavailable", ratio))
    s.append("\nMedians (p50 from ``report --json``), µs:\n\n")
    s.append(table(["phase", "pthread_create", "fork", "fork / thread"], rows))
    s.append(
        "\n**What it shows.**  A thread (``CLONE_VM|CLONE_FS|CLONE_FILES|\n"
        "CLONE_SIGHAND|CLONE_THREAD|…``) shares what a fork copies: no\n"
        "``dup_mmap``, no page tables, and ``files_to_mm`` only takes\n"
        "references.  What both pay is the task itself: ``dup_task`` (task\n"
        "struct and kernel stack), the scheduler set-up, ``copy_thread``,\n"
        "``alloc_pid`` and linking into the task list.  The address-space copy\n"
        "is what makes a process dearer, and it grows with the parent\n"
        "(study 1); the rest is the same order of magnitude for both.\n"
        "Published comparisons on real hardware (a fork of a small process in\n"
        "the tens of µs to ~100 µs, a thread a few µs to tens of µs) have the\n"
        "same ratio; the absolute figures here are emulated.\n")
    return "".join(s)


def study6(nproc, pidmax, sigs):
    s = ["\n6. Failures and restarts\n========================\n"]
    s.append(
        "Three ways a fork does not give a child: a per-user process limit, an\n"
        "exhausted pid space, and signals arriving during the call.  Commands::\n\n"
        f"  {nproc.command()}\n  {pidmax.command()}\n")
    for r in sigs:
        s.append(f"  {r.command()}\n")

    def fail_rows(r):
        ok = [c for c in r.clones if c["result"] > 0]
        bad = [c for c in r.clones if c["result"] < 0 and not c["flags"] & FLAG_RESTART]
        out = []
        for c in bad:
            fp = PHASES[c["failed_phase"]] if c["failed_phase"] < len(PHASES) else "-"
            out.append((r.id, ERRNO.get(-c["result"], str(c["result"])), fp,
                        ms(c["total"]), ms(med(x["total"] for x in ok)), len(ok),
                        ms(c["ph"]["dup_mmap"]) if c["ph"]["dup_mmap"] is not None
                        else "not reached"))
        return out

    s.append("\n``RLIMIT_NPROC``\n----------------\n")
    kv = nproc.res_of("nproc")[0] if nproc.res_of("nproc") else {}
    s.append(
        f"As root, the workload sets ``RLIMIT_NPROC`` to {kv.get('limit', '?')}, becomes\n"
        f"uid {kv.get('uid', '?')} and forks children that wait, until a fork fails\n"
        f"(it got {kv.get('children', '?')} children, then\n"
        f"``{ERRNO.get(int(kv.get('errno', 0)), kv.get('errno', '?'))}``).  What ``record``\n"
        "printed (trimmed):\n\n")
    s.append(literal(trim_out(nproc, clones=1, cows=0)))
    s.append("\n``pid_max``\n-----------\n")
    kv = pidmax.res_of("pidmax")[0] if pidmax.res_of("pidmax") else {}
    s.append(
        f"As root, the workload lowers ``/proc/sys/kernel/pid_max`` from\n"
        f"{kv.get('old', '?')} to {kv.get('set', '?')}, forks waiting children until a\n"
        f"fork fails ({kv.get('children', '?')} children, then\n"
        f"``{ERRNO.get(int(kv.get('errno', 0)), kv.get('errno', '?'))}``) and puts ``pid_max``\n"
        "back at once.  Trimmed:\n\n")
    s.append(literal(trim_out(pidmax, clones=1, cows=0)))
    rows = fail_rows(nproc) + fail_rows(pidmax)
    s.append("\nThe failed forks against the successful ones of the same parent (ms):\n\n")
    s.append(table(["run", "error", "failed in", "failed fork", "median successful",
                    "successful", "dup_mmap of the failure"], rows))

    def failed_in(r):
        bad = [c for c in r.clones if c["result"] < 0 and not c["flags"] & FLAG_RESTART]
        names = sorted({PHASES[c["failed_phase"]] for c in bad
                        if c["failed_phase"] < len(PHASES)})
        return ", ".join(f"``{n}``" for n in names) or "(none)"

    s.append(
        "\n**What it shows.**  Both limits return ``EAGAIN`` to the program, but\n"
        "they cost very different amounts.  On 6.1 the ``RLIMIT_NPROC`` check\n"
        "comes right after ``copy_creds`` (the count lives in the new\n"
        "credentials' ucounts), so that failure lands in the interval after\n"
        f"``copy_creds`` (clonescope: failed in {failed_in(nproc)}) and costs a task\n"
        "struct and credentials.  An exhausted pid space is only found in\n"
        f"``alloc_pid`` (failed in {failed_in(pidmax)}), after ``copy_mm``: the\n"
        "failed fork has already copied the whole address space and throws it\n"
        "away, so a fork loop against ``pid_max`` pays full price for every\n"
        "failure.  clonescope names the phase of each failure, which is what\n"
        "tells the two ``EAGAIN`` apart.\n")

    s.append("\nSignals during a fork\n---------------------\n")
    rows = []
    total_restarts = {}
    for r in sigs:
        restarts = [c for c in r.clones if c["flags"] & FLAG_RESTART]
        real = [c for c in r.clones if c["result"] < 0 and not c["flags"] & FLAG_RESTART]
        ok = [c for c in r.forks()]
        kvs = r.res_of("signals")
        src = kvs[0].get("source", "?") if kvs else "?"
        desc = {"real": "SIGALRM, ITIMER_REAL", "prof": "SIGPROF, ITIMER_PROF",
                "thread": "SIGUSR1 from a thread"}.get(src, src)
        if src in ("real", "prof") and kvs:
            desc += f" every {kvs[0].get('interval_us', '?')} µs"
        phases = sorted({PHASES[c["failed_phase"]] if c["failed_phase"] < len(PHASES)
                         else "none" for c in restarts})
        total_restarts[src] = (len(restarts), sum(int(kv.get("signals_in_fork", 0)) for kv in kvs))
        rows.append((r.id, desc, kvs[0].get("mib", "?") if kvs else "?", len(kvs), sum(int(kv.get("signals_in_fork", 0)) for kv in kvs),
                     len(ok), len(restarts), len(real), ", ".join(phases) or "-",
                     us(med(c["total"] for c in restarts)) if restarts else "-",
                     ms(med(c["total"] for c in ok))))
    s.append(
        "A parent forks while signals come in: from an interval timer\n"
        "(``ITIMER_REAL``/``SIGALRM`` every few µs; ``ITIMER_PROF``/``SIGPROF``,\n"
        "what a sampling profiler uses), or from a second thread sending\n"
        "``SIGUSR1`` to the forking thread back to back.  The handler counts,\n"
        "and stops the source after a maximum, so every fork completes.\n"
        "clonescope flags a clone that returned ``-ERESTARTNOINTR`` as\n"
        "*restarted* (``CLONESCOPE_CLONE_RESTART``), so restarts can be counted\n"
        "apart from real failures (the table does; the summary line of\n"
        "``record`` still counts them among the failed).  *signals in fork()*\n"
        "counts the handler runs between the program's call to ``fork()`` and\n"
        "its return:\n\n")
    s.append(table(["run", "source", "MiB", "fork() calls", "signals in fork()", "successful",
                    "restarted", "real failures", "restarts failed in",
                    "restart µs (median)", "successful ms (median)"], rows))
    for r in sigs:
        if any(c["flags"] & FLAG_RESTART for c in r.clones):
            s.append(f"\n``{r.id}``, trimmed:\n\n")
            s.append(literal(trim_out(r, clones=1, cows=0, restarts=3)))
            break
    timer_sig = sum(v[1] for k, v in total_restarts.items() if k in ("real", "prof"))
    timer_rst = sum(v[0] for k, v in total_restarts.items() if k in ("real", "prof"))
    thr_rst = total_restarts.get("thread", (0, 0))[0]
    s.append(
        "\n**What it shows.**  The program called ``fork()`` once per repetition\n"
        "and got one child each time; restarts happen inside the kernel and the\n"
        f"C library never sees them.  The timers delivered {timer_sig} signals while\n"
        f"``fork()`` calls were in progress and caused {timer_rst} restarts; the\n"
        f"thread sending signals back to back caused {thr_rst}.  That is 6.1's\n"
        "rule: ``copy_process`` returns ``-ERESTARTNOINTR`` only when a signal\n"
        "is already pending as it starts, before ``dup_task_struct``; a signal\n"
        "that arrives *during* the copy is held back and delivered after the\n"
        "fork (kernel/fork.c: \"Collect up signals sent to multiple processes\n"
        "that happen during the fork and delay them so that they appear to\n"
        "happen after the fork\").  So a restart costs a syscall entry and\n"
        "exit, not a page-table copy (compare the two last columns), and only\n"
        "a fatal signal aborts a fork in the middle (``-EINTR``).  The\n"
        "livelocks reported for profilers whose SIGPROF restarted a long fork\n"
        "over and over come from older kernels, which checked for signals at\n"
        "the end of the copy and threw the whole copy away.  A tool that\n"
        "counted ``-ERESTARTNOINTR`` returns as failures would report failures\n"
        "that no program ever saw.\n")
    return "".join(s)


def study7(r, meta):
    s = ["\n7. Redis: BGSAVE on a populated data set, next to Redis's own figures\n"
         "======================================================================\n"]
    pop = r.res_of("populated")[0] if r.res_of("populated") else {}
    saves = r.res_of("bgsave")
    s.append(
        f"Redis {meta.get('redis_version', '?')} (Debian's ``redis-server``, jemalloc as its\n"
        f"allocator) runs under ``clonescope record`` with the shim loaded.  A client\n"
        f"fills it with ``DEBUG POPULATE`` ({pop.get('keys', '?')} keys, ``used_memory``\n"
        f"{int(pop.get('used_memory', 0)) / 2**20:.0f} MiB); then, {len(saves)} times, it starts\n"
        "``redis-benchmark`` writing random keys (``SET``, pipelined) and, half a\n"
        "second later, sends ``BGSAVE``; after each save it reads Redis's own\n"
        "view of that fork from ``INFO``.  Command::\n\n"
        f"  clonescope record -o {r.id}.cst -- {r.cmd}\n")
    forks = r.forks()
    fork_calls = {c["child"]: c for c in user_calls(os.path.join(OUT_DIR, r.id + ".cst"))
                  if c["kind"] == USER_KIND_FORK}
    fork_sites = [g["key"] for g in r.json.get("by_site", []) if "fork" in g.get("kinds", [])]
    with_lines = any(":" in k.split("[")[0] for k in fork_sites)
    s.append(
        f"\nclonescope matched the forks to {len(fork_sites)} call site(s), "
        f"``{'``, ``'.join(fork_sites) or '?'}``"
        + (": with its source line.\n" if with_lines else
           ": Debian's binary has no line tables (they are in the ``-dbgsym``\n"
           "package), so the site is the best the binary has, the exported\n"
           "symbol and the offset.\n")
        + "``clonescope report`` of the trace, the fork kind (trimmed):\n\n")
    s.append(literal(trim_report(r, ["total", "user", "overhead", "cow_pages", "dup_task",
                                     "dup_mmap", "copy_page_range", "copy_process"],
                                 kinds=["fork"])))
    rows, pairs_time, pairs_cow = [], [], []
    for i, kv in enumerate(saves):
        k = forks[i] if i < len(forks) else None
        u = fork_calls.get(k["pid"]) if k else None
        w = r.cow_of(k["pid"]) if k else None
        user_ns = u["return"] - u["entry"] if u else None
        redis_us = int(kv.get("latest_fork_usec", 0))
        redis_cow = int(kv.get("rdb_last_cow_size", 0))
        cow_pages = (w["child"]["copied"] + w["parent"]["copied"]) if w else None
        if user_ns:
            pairs_time.append((redis_us * 1000, user_ns, k["total"]))
        if cow_pages is not None:
            pairs_cow.append((redis_cow, cow_pages * 4096))
        rows.append((kv.get("rep", i + 1), kv.get("status", "?"), redis_us,
                     us(user_ns, 0), us(k["total"], 0) if k else "-",
                     us(user_ns - k["total"], 0) if user_ns and k else "-",
                     ms(k["ph"]["copy_page_range"]) if k else "-",
                     f"{w['parent']['copied']} + {w['child']['copied']}" if w else "-",
                     f"{cow_pages * 4096 / 2**20:.1f}" if cow_pages is not None else "-",
                     f"{redis_cow / 2**20:.1f}"))
    s.append("\nEach BGSAVE, Redis's figures beside clonescope's (µs unless named):\n\n")
    s.append(table(["BGSAVE", "status", "latest_fork_usec", "user", "total", "user - total",
                    "copy_page_range ms", "COW pages parent + child", "COW MiB",
                    "rdb_last_cow_size MiB"], rows))
    time_ratio = med(red / user for red, user, _ in pairs_time)
    shim_us = med((red - user) / 1000 for red, user, _ in pairs_time)
    kern_share = med(total / user for _, user, total in pairs_time)
    cow_ratio = med(red / cs for red, cs in pairs_cow if cs)
    def verdict(ratio, tolerance):
        if ratio is None:
            return "cannot be compared (no pair of figures)"
        return "agree" if abs(ratio - 1) <= tolerance else "do not agree"

    if time_ratio is None or cow_ratio is None or kern_share is None:
        s.append("\n(Not enough BGSAVEs with both tools' figures to compare.)\n")
        return "".join(s)
    s.append(
        f"\n**Where the two tools measure the same thing, they "
        f"{verdict(time_ratio, 0.25)} on the time and {verdict(cow_ratio, 0.25)} on\n"
        "the copy-on-write bill (within 25%).**\n"
        "``latest_fork_usec`` is ``ustime()`` taken around ``fork()`` in\n"
        "``redisFork``; clonescope's *user* is ``clock_gettime`` taken around the\n"
        "same ``fork()`` one call level further in, by the shim.  Redis's figure\n"
        f"was {time_ratio:.2f} times clonescope's (median), {shim_us:.0f} µs more: the\n"
        "shim's own entry and the writing of its record, which happen inside\n"
        "Redis's window.  Redis's ``rdb_last_cow_size`` is the child's\n"
        "``Private_Dirty`` from ``/proc/self/smaps``, read when the save is done:\n"
        "the pages the parent's writes copied away from the child and the ones\n"
        "the child copied itself, what clonescope counts as the fork's COW\n"
        f"copies (parent + child).  Redis's figure was {cow_ratio:.2f} times\n"
        "clonescope's (median).  What Redis adds: pages the child dirtied\n"
        "that were never shared (its own new allocations while serialising);\n"
        "what it misses: copies after its last look, until the child exits.\n"
        "\n**Where they differ, it is what Redis cannot see.**  Redis has one\n"
        "number for the fork; the kernel's part of it (*total*, syscall entry to\n"
        f"return) was {100 * kern_share:.0f}% of the call (median).  The rest, *user -\n"
        "total*, is spent in ``fork()`` around the syscall: glibc's\n"
        "``pthread_atfork`` handlers, where jemalloc (``jemalloc_prefork``)\n"
        "takes every arena's and bin's mutex before the fork and releases them\n"
        "afterwards in parent and child, so that the child does not inherit a\n"
        "lock held by another thread (a Redis ``bio`` thread, or the\n"
        "background thread jemalloc starts with ``jemalloc-bg-thread yes``),\n"
        "plus glibc's own locks and the parent's first COW faults on its way\n"
        "out.  A long ``latest_fork_usec`` with a short *total* points at those\n"
        "locks (a thread holding an arena lock makes the fork wait); a long\n"
        "*total* points at the page-table copy, which clonescope splits into\n"
        "phases (``dup_mmap``, ``copy_page_range``) and which grows with\n"
        "``used_memory`` (study 1).  The COW bill is split too: the parent's\n"
        "copies are Redis's own latency (the writes of the clients), the\n"
        "child's are the save's.\n")
    return "".join(s)


def leftovers(sigthread):
    import re
    m = re.search(r"\d+ clone records \(\d+ failed\)", sigthread.out if sigthread else "")
    summary = m.group(0) if m else "n clone records (n failed)"
    return (
        "\nWhat clonescope could add\n=========================\n"
        "Found while writing these studies:\n\n"
        "- ``report --json`` aggregates; the per-record data (each clone's\n"
        "  phases, each COW record's counters, ``thp_*`` included) is only in\n"
        "  the binary trace, which the generator decodes itself.  A\n"
        "  ``report --records`` (JSON lines, one per record) would make such\n"
        "  scripts trivial.\n"
        "- The text output of a COW record leaves out ``thp_faults``,\n"
        "  ``thp_fallback``, ``zero_copied`` and the hugetlb counters.\n"
        "- Restarts are not counted apart by the tool: the *restarted* flag is\n"
        "  printed per record, but ``record``'s summary line counts them as\n"
        f"  failed (\"{summary}\" for the signal-storm run, which had\n"
        "  no real failure), and the by-kind report shows neither the restarts nor the\n"
        "  time they took.\n"
        "- COW is reported once per fork, at the end of its window; a periodic\n"
        "  progress record (or ``stat`` showing COW copies per interval) would\n"
        "  show the bill growing over time, as study 4 had to do with smaps.\n")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    out, doc = sys.argv[1], sys.argv[2]

    def kv_file(name):
        d = {}
        for line in read(os.path.join(out, name)).splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                d[k] = v
        return d

    global OUT_DIR
    OUT_DIR = out
    meta, host = kv_file("meta.txt"), kv_file("host.txt")
    ids = sorted(f[:-4] for f in os.listdir(out) if f.endswith(".cmd"))
    runs = {i: Run(out, i) for i in ids}
    missing = [i for i, r in runs.items() if not r.ok]
    if missing:
        raise SystemExit(f"runs without a trace: {' '.join(missing)}")
    s1 = sorted((int(i.split("-")[1]), runs[i]) for i in ids if i.startswith("s1-"))
    sizes = [m for m, _ in s1]
    modes = [m for m in ("fork", "vfork", "spawn", "clonevm") if f"s3-{m}" in runs]
    # Every study of a full run; a CASES_ONLY run has only some.
    studies = [
        (s1, lambda: study1(dict(s1), sizes)),
        ("s2-thp0" in runs, lambda: study2(runs["s2-thp0"], runs["s2-thp1"])),
        (modes, lambda: study3({m: runs[f"s3-{m}"] for m in modes}, modes)),
        ("s4-cowbill" in runs, lambda: study4(runs["s4-cowbill"])),
        ("s5-threads" in runs, lambda: study5(runs["s5-threads"])),
        ("s6-nproc" in runs, lambda: study6(
            runs["s6-nproc"], runs["s6-pidmax"],
            [runs[i] for i in ("s6-sigalrm", "s6-sigprof", "s6-sigthread") if i in runs])),
        ("s7-redis" in runs, lambda: study7(runs["s7-redis"], meta)),
    ]
    parts = [intro(meta, host, [], list(runs.values()))]
    parts += [write() for present, write in studies if present]
    if "s6-sigthread" in runs:
        parts.append(leftovers(runs["s6-sigthread"]))
    with open(doc, "w", encoding="utf-8") as f:
        f.write("\n".join(parts).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
