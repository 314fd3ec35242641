#!/usr/bin/env python3
"""Generates bench/results.md from the raw data of one benchmark run.

usage: report.py OUT_DIR RESULTS_MD
       report.py --decode OUT_DIR RESULTS_MD   (the decode section alone)

OUT_DIR is the guest's output directory (raw.txt, meta.txt written by
bench/guest-bench.sh) plus what bench/run.sh adds on the host (host.txt,
decode.txt).  Every number in the result comes from those files.
"""

import shlex
import statistics
import sys
from pathlib import Path

VARIANT_TEXT = {
    "unloaded": "baseline: module not loaded",
    "disabled": "module loaded, disabled",
    "nullprobes": "probes armed, handlers return at once, no reader (`null_handlers=1`, "
                  "cs-ctl hold)",
    "noreader": "module enabled, no reader (cs-ctl hold)",
    "pollreader": "module enabled + a reader polling every 100 ms (cs-ctl poll 100)",
    "drain": "module enabled + a blocking reader, woken by the module's timer or a "
             "half-full buffer (cs-ctl drain)",
    "drain-perwait": "module enabled + a blocking reader woken at the first record of "
                     "each wait (`wakeup_ms=0`, as ABI 1.0 did; cs-ctl drain)",
    "stat": "`clonescope stat 1` running (system-wide, in-kernel aggregation, no records)",
    "record": "module enabled + `clonescope record --no-preload` reading",
    "record-clone": "module enabled + `clonescope record --no-preload --probes clone` "
                    "(clone group only: about bpftrace's probes)",
    "record-shim": "module enabled + `clonescope record` (with its LD_PRELOAD shim)",
    "bpftrace": "bpftrace: kprobe+kretprobe on kernel_clone and copy_process, hist()",
    "bpftrace-samejob": "bpftrace doing the default `record`'s job (bench/samejob.bt: the "
                        "module's probe points on 6.1, every group, into maps)",
    "forkstat": "forkstat -e fork,exec,exit running",
    "perf": "perf record -a -e sched:sched_process_fork running",
}
WORKLOAD_TEXT = {
    "fork": "fork+exit+wait",
    "vfork-exec": "vfork+exec of a static no-op",
    "spawn": "posix_spawn of a static no-op",
    "thread": "pthread_create+join",
    "cow": "COW-heavy: {cow_mib} MiB parent, child writes 10%",
    "storm": "fork storm, {forkers} forkers at once",
}
SELF_COST_VARIANTS = ("noreader", "record", "record-clone", "record-shim", "stat")
# The cost breakdown: each component is the difference of two variants
# measured in the same rounds.
BREAKDOWN = (
    ("probe machinery (probes armed, handlers return at once)", "nullprobes", "unloaded"),
    ("handler bodies (full handlers, no reader)", "noreader", "nullprobes"),
    ("delivery: reader polling every 100 ms", "pollreader", "noreader"),
    ("delivery: blocking reader, woken by timer / half-full buffer", "drain", "noreader"),
    ("delivery: blocking reader woken per wait (ABI 1.0)", "drain-perwait", "noreader"),
)
# clonescope stat is compared with perf, the other aggregating reader.
AGGREGATOR = "stat"
# The variant the targets are about: the module enabled with the tool reading.
READER = "record"
# The one compared with bpftrace: clonescope armed with about its probes.
SAME_PROBES = "record-clone"
# bpftrace answering what READER answers (bench/samejob.bt).
SAME_JOB = "bpftrace-samejob"
DECODE_TARGET = 5_000_000


def parse_kv(line):
    out = {}
    for tok in shlex.split(line):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def read_kv_file(path):
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def quantile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def pct(ratio):
    """As +% overhead; two decimals below 1%, where icount still resolves it."""
    p = (ratio - 1) * 100
    return f"{p:+.2f}%" if abs(p) < 1 else f"{p:+.1f}%"


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def decode_section(decode):
    """The decode throughput section (make bench, make bench-decode)."""
    L = ["## Decode throughput (host, one core)", ""]
    if not decode.get("decode_events_per_s"):
        L.append(f"Not measured: {decode.get('not_measured', 'no decode data')}")
        L.append("")
        return L
    rate = lambda key: float(decode[key]) / 1e6
    L.append(f"Synthetic trace of {decode['events']} kernel records (half clone records with "
             f"every phase, half child-start records; {int(decode['file_bytes']) / 2**20:.0f} "
             f"MiB), `taskset -c 0`, best of {decode.get('repeats', '?')}:")
    L.append("")
    L.append(f"- decode (`clonescope::read_trace()`: map the file, parse its sections, check "
             f"every record; then one pass reading every record): "
             f"**{rate('decode_events_per_s'):.2f} M events/s**")
    if decode.get("walk_events_per_s"):
        L.append(f"- that pass alone (records read in place): "
                 f"{rate('walk_events_per_s'):.2f} M events/s")
    if decode.get("objects_events_per_s"):
        ratio = float(decode["decode_events_per_s"]) / float(decode["objects_events_per_s"])
        L.append(f"- for comparison, in the same run: read_trace() and an object per record "
                 f"(a `std::variant` of the record structs, as the tool decoded before "
                 f"reading in place): {rate('objects_events_per_s'):.2f} M events/s "
                 f"(in place is {ratio:.1f}× that)")
    if decode.get("small_decode_events_per_s"):
        L.append(f"- a trace of {decode['small_events']} records (fixed costs: open, map, "
                 f"META), best of {decode.get('small_repeats', '?')}: "
                 f"{rate('small_decode_events_per_s'):.2f} M events/s in place, "
                 f"{rate('small_objects_events_per_s'):.2f} M events/s with objects")
    if decode.get("report_events_per_s"):
        L.append(f"- whole `clonescope report` (decode + correlate + percentiles + text): "
                 f"{rate('report_events_per_s'):.2f} M events/s "
                 f"({float(decode['report_seconds']):.2f} s)")
    L.append(f"- host load average during the run: {decode.get('load', '?')}")
    L.append("")
    return L


def decode_main(out_dir, results):
    """report.py --decode OUT_DIR RESULTS_MD: the decode section alone."""
    decode = read_kv_file(out_dir / "decode.txt")
    L = ["# clonescope decode benchmark", "",
         "Generated by `bench/decode.sh` (`make bench-decode`) from the raw data of one run; "
         f"do not edit by hand. Raw data: `decode.txt` in `{out_dir}`.", ""]
    L += decode_section(decode)
    r = decode.get("decode_events_per_s")
    if r:
        status = "met" if float(r) >= DECODE_TARGET else "missed"
        L.append(f"Target: decode ≥ 5M events/s on one core: **{status}** "
                 f"({float(r) / 1e6:.2f} M events/s).")
        L.append("")
    results.write_text("\n".join(L))


def main():
    if sys.argv[1] == "--decode":
        decode_main(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    out_dir, results = Path(sys.argv[1]), Path(sys.argv[2])
    meta = read_kv_file(out_dir / "meta.txt")
    host = read_kv_file(out_dir / "host.txt")
    decode = read_kv_file(out_dir / "decode.txt")
    batches, errors = [], []
    for line in (out_dir / "raw.txt").read_text().splitlines():
        kv = parse_kv(line)
        if "error" in kv or "setup_error" in kv:
            errors.append(kv)
        elif "ns_per_iter" in kv:
            batches.append(kv)

    variants = meta.get("variants", "").split()
    workloads = meta.get("workloads", "").split()
    rounds = int(meta.get("rounds", "0"))
    forkers = int(meta.get("storm_forkers", meta.get("cpus", "1")))
    wl_names = {w: t.format(cow_mib=meta.get("cow_mib", "?"), forkers=forkers)
                for w, t in WORKLOAD_TEXT.items()}

    def workload_table(title, text, first_column):
        """A section's title and text, then the head of its table: a column per workload."""
        L.extend([f"## {title}", "", text, "",
                  f"| {first_column} | " + " | ".join(wl_names.get(w, w) for w in workloads)
                  + " |",
                  "|---|" + "---|" * len(workloads)])

    ns = {}  # (round, variant, workload) -> ns per iteration
    by_vw = {}  # (variant, workload) -> [batch]
    for b in batches:
        key = (b["round"], b["variant"], b["workload"])
        ns[key] = int(b["ns_per_iter"])
        by_vw.setdefault((b["variant"], b["workload"]), []).append(b)

    # Ratios to the baseline of the same round and workload.
    ratios = {}
    for (r, v, w), t in ns.items():
        base = ns.get((r, "unloaded", w))
        if base:
            ratios.setdefault((v, w), []).append(t / base)

    def med_ratio(v, w):
        xs = ratios.get((v, w))
        return statistics.median(xs) if xs else None

    accel = meta.get("accel", "?").upper()
    L = []
    L.append("# clonescope benchmark results")
    L.append("")
    L.append("Generated by `bench/run.sh` (`make bench`) from the raw data of one run; "
             "do not edit by hand. Raw data: `raw.txt` and `meta.txt` in the run's output "
             f"directory (`{host.get('out_dir', out_dir)}`).")
    L.append("")
    L.append(f"- date (UTC): {meta.get('date', '?')}")
    L.append(f"- guest kernel: {meta.get('kernel', '?')}, {meta.get('cpus', '?')} vCPUs, "
             f"{int(meta.get('mem_kib', '0')) // 1024} MiB, CPU model: {meta.get('cpu_model', '?')}")
    L.append(f"- acceleration: **{accel}** (requested: {host.get('accel_requested', '?')})")
    L.append(f"- host: {host.get('host_kernel', '?')}, {host.get('host_cpus', '?')} CPUs, "
             f"load average at start: {host.get('host_load', '?')}, at the end: "
             f"{host.get('host_load_end', '?')} (the host is shared: other engineers' "
             "builds and guests ran meanwhile)")
    L.append(f"- rounds: {rounds}; each round runs every variant once in a shuffled order "
             f"(seed {meta.get('seed', '?')}), and every workload once inside each variant")
    L.append("- iterations per batch: " + ", ".join(
        f"{w} {meta.get('iters_' + w, '?')}" for w in workloads)
        + f" (storm: per forker); COW parent size {meta.get('cow_mib', '?')} MiB "
        "(4K pages, MADV_NOHUGEPAGE)")
    layout = meta.get("layout", "random")
    L.append(f"- workloads' address-space layout: {layout}"
             + (" (no ASLR, the batch's stack at one address: the same in every variant and "
                "round, see bench/README.md)" if layout == "fixed" else
                " (ASLR: a new layout per batch, up to 3% apart on fork)"))
    L.append(f"- guest time: {meta.get('guest_seconds', '?')} s; whole `make bench`: "
             f"{host.get('total_seconds', '?')} s")
    L.append("")
    if accel == "ICOUNT":
        L.append("**The guest ran under TCG with `-icount shift=0,sleep=off` on one vCPU: its "
                 "clock counts executed instructions (one per ns) and skips idle time, so "
                 "every time below is a count of the instructions the guest executed, kernel "
                 "and user space and every task on the CPU (a tracer's reader included), and "
                 "a ratio repeats from run to run whatever the host does. It leaves out what "
                 "the emulator does not model: cache misses, TLB refills, the pipeline cost "
                 "of a trap or a context switch. Compare variants; `make bench ACCEL=tcg` "
                 "measures the same on TCG's emulated wall clock with two vCPUs "
                 "(results-tcg.md).**")
        L.append("")
    elif accel != "KVM":
        L.append("**The guest ran under TCG (QEMU's CPU emulator): every absolute time below "
                 "is emulated and several times slower than real hardware, and the emulator "
                 "makes some operations (page faults, TLB flushes, kprobe traps) "
                 "disproportionately slow. Only the ratios to the baseline measured in the "
                 "same rounds mean anything; compare variants, not these numbers with other "
                 "machines.**")
        L.append("")

    # ---- overhead table
    workload_table("Overhead: per-iteration time as a ratio to the baseline",
                   "Each cell: median ratio over the rounds (as +% overhead), then p25–p75 "
                   "of the per-round ratios in brackets. The baseline row gives its own "
                   "median absolute time per iteration"
                   + {"ICOUNT": " (instructions, one per ns).", "KVM": "."}.get(
                       accel, " (emulated under TCG)."),
                   "variant")
    for v in variants:
        cells = []
        for w in workloads:
            if v == "unloaded":
                xs = [int(b["ns_per_iter"]) for b in by_vw.get((v, w), [])]
                cells.append(f"{fmt_ns(statistics.median(xs))}/iter" if xs else "–")
                continue
            xs = ratios.get((v, w))
            if not xs:
                cells.append("–")
                continue
            m = statistics.median(xs)
            cells.append(f"{pct(m)} [{pct(quantile(xs, .25))} … {pct(quantile(xs, .75))}] "
                         f"n={len(xs)}")
        L.append(f"| {VARIANT_TEXT.get(v, v)} | " + " | ".join(cells) + " |")
    for k, why in sorted(meta.items()):
        if k.startswith("unavailable_"):
            L.append(f"| {VARIANT_TEXT.get(k[12:], k[12:])} | not available: {why} |"
                     + " |" * (len(workloads) - 1))
    L.append("")
    spread = [quantile(xs, .75) - quantile(xs, .25) for (v, w), xs in ratios.items()
              if v != "unloaded" and len(xs) > 1]
    if spread:
        L.append(f"Noise: the p25–p75 spread of a variant's ratios is "
                 f"{statistics.median(spread) * 100:.1f} points at the median "
                 f"(widest {max(spread) * 100:.1f}); an overhead smaller than that is not "
                 "resolved by the wall-clock ratio — see also the module's self-cost "
                 "below.")
        L.append("")

    # ---- breakdown
    def round_diffs(a, b, w):
        """Per-round differences of ns per iteration, variant a minus b."""
        return [ns[(r, a, w)] - ns[(r, b, w)] for (r, v, w2) in ns
                if v == a and w2 == w and (r, b, w) in ns]

    def median_of(v, w, key, per):
        xs = [int(b[key]) / per(b) for b in by_vw.get((v, w), []) if key in b and per(b)]
        return statistics.median(xs) if xs else None

    def iters_of(w):
        return lambda b: int(b["clones"]) if w == "storm" else int(b["iters"])

    if all(v in variants for _, v, _ in BREAKDOWN):
        workload_table("Where the time goes: cost components per iteration",
                       "Each component is the difference of two variants' time per iteration "
                       "in the same round, median over rounds, in µs and as % of the "
                       "baseline's median (every module variant arms all probe groups). "
                       "*Probe hits* counts the probe handler calls per iteration in the "
                       "`nullprobes` batches; *per hit* divides the machinery by them. "
                       "Differences of two noisy ratios: read them with the noise figure "
                       "above.",
                       "component")
        base_med = {w: statistics.median(int(b["ns_per_iter"]) for b in by_vw[("unloaded", w)])
                    for w in workloads if by_vw.get(("unloaded", w))}
        for text, a, b in BREAKDOWN:
            cells = []
            for w in workloads:
                d = round_diffs(a, b, w)
                if not d or w not in base_med:
                    cells.append("–")
                    continue
                m = statistics.median(d)
                cells.append(f"{m / 1e3:+.1f} µs ({m / base_med[w] * 100:+.1f}%)")
            L.append(f"| {text} | " + " | ".join(cells) + " |")
        cells, per_hit = [], []
        for w in workloads:
            # The storm's iterations are its clones: iters per forker.
            hits = median_of("nullprobes", w, "handler_calls",
                             lambda b: int(b["iters"]) * (forkers if w == "storm" else 1))
            d = round_diffs("nullprobes", "unloaded", w)
            cells.append(f"{hits:.1f}" if hits is not None else "–")
            per_hit.append(f"{statistics.median(d) / hits / 1e3:.2f} µs"
                           if hits and d else "–")
        L.append("| probe hits per iteration (all groups) | " + " | ".join(cells) + " |")
        L.append("| machinery per hit | " + " | ".join(per_hit) + " |")
        L.append("")

    # ---- self cost and drops
    L.append("## The module's own cost and its drops")
    L.append("")
    L.append("From the module's stats after each batch (`CLONESCOPE_IOC_GET_STATS`): "
             "`handler_ns / clones` is the time spent inside clonescope's probe handlers per "
             "traced clone (all its probes, COW accounting included), median over rounds; "
             "*per iteration* divides the batch's handler time by the workload's iterations "
             "and compares it with the baseline's median time per iteration — an overhead "
             "estimate that is far less noisy than wall-clock ratios, though not immune: a "
             "vCPU thread the host preempts inside a handler inflates it (not under icount), "
             "and it leaves out cache and TLB effects. With `clonescope record` and `stat` "
             "(ABI 1.5's sampled self-cost) a probe's handler time is estimated from the "
             "calls it timed, one in 16 per CPU (the stats' `cost_sampled`); an interrupt "
             "inside a timed call counts 16 times. Produced/dropped are summed over all "
             "rounds.")
    L.append("")
    L.append("| variant | workload | handler ns/clone | handler time per iteration "
             "(% of baseline) | clones/s | produced | dropped | in-flight overflow |")
    L.append("|---|---|---|---|---|---|---|---|")
    zero_drop_rates = []
    for v in SELF_COST_VARIANTS:
        if v not in variants:
            continue
        for w in workloads:
            bs = [b for b in by_vw.get((v, w), []) if "handler_ns" in b]
            if not bs:
                continue
            per_clone = [int(b["handler_ns"]) / int(b["clones"]) for b in bs
                         if int(b.get("clones", 0))]
            # ns_per_iter is elapsed / clones (storm: iters is per forker).
            per_iter = [int(b["handler_ns"]) / int(b["clones"]) if w == "storm"
                        else int(b["handler_ns"]) / int(b["iters"]) for b in bs]
            base = [int(b["ns_per_iter"]) for b in by_vw.get(("unloaded", w), [])]
            produced = sum(int(b["produced"]) for b in bs)
            dropped = sum(int(b["dropped"]) for b in bs)
            overflow = sum(int(b.get("inflight_overflow", 0)) for b in bs)
            rate = statistics.median(float(b["clones_per_s"]) for b in bs)
            if v == READER:
                for b in bs:
                    if int(b["dropped"]) == 0 and int(b.get("inflight_overflow", 0)) == 0:
                        zero_drop_rates.append((float(b["clones_per_s"]), w))
            pc = f"{fmt_ns(statistics.median(per_clone))}" if per_clone else "– (no clones)"
            pi = statistics.median(per_iter)
            pib = f"{fmt_ns(pi)} ({pi / statistics.median(base) * 100:.2f}%)" if base else fmt_ns(pi)
            L.append(f"| {v} | {wl_names.get(w, w)} | {pc} | {pib} | {rate:.0f} | "
                     f"{produced} | {dropped} | {overflow} |")
    L.append("")
    # Handler self-cost per clone against the clone itself: the clone's
    # duration is what the module aggregated in the `stat` batches (clone
    # group, as `record --probes clone`).
    if AGGREGATOR in variants:
        L.append("Handler self-cost per clone against the clone it traced: the median and "
                 "mean kernel_clone duration are the module's own aggregates in the `stat` "
                 "batches (median estimated inside its log2 histogram), with the clone "
                 "group armed, as `record --probes clone`.")
        L.append("")
        L.append("| workload | median clone | mean clone | self-cost per clone, clone group "
                 "(`stat`) | % of median clone | `record --probes clone` self-cost | "
                 "% of median clone |")
        L.append("|---|---|---|---|---|---|---|")
        for w in workloads:
            bs = [b for b in by_vw.get((AGGREGATOR, w), []) if "clone_p50_ns" in b]
            if not bs:
                continue
            p50 = statistics.median(int(b["clone_p50_ns"]) for b in bs)
            mean = statistics.median(int(b["clone_mean_ns"]) for b in bs)
            sc = median_of(AGGREGATOR, w, "handler_ns", lambda b: int(b["clones"]))
            rc = median_of(SAME_PROBES, w, "handler_ns", lambda b: int(b["clones"]))
            cols = [wl_names.get(w, w), fmt_ns(p50), fmt_ns(mean)]
            for cost in (sc, rc):
                cols += [fmt_ns(cost), f"{cost / p50 * 100:.1f}%"] if cost else ["–", "–"]
            L.append("| " + " | ".join(cols) + " |")
        L.append("")
    if "disabled" in variants:
        ds = [b for b in batches if b["variant"] == "disabled"]
        calls = sum(int(b.get("disabled_handler_calls", 0)) for b in ds)
        L.append(f"Module loaded but disabled: {calls} probe handler calls during its "
                 f"{len(ds)} batches.")
        L.append("")

    # ---- memory
    L.append("## Module memory")
    L.append("")
    st = parse_kv(meta.get("module_stats_at_load", ""))
    size = int(meta.get("module_size_bytes", "0") or 0)
    if st and size:
        ppc, cpus = int(st["pages_per_cpu"]), int(st["nr_cpus"])
        buf = ppc * cpus * 4096
        L.append(f"- module image (`/proc/modules`): {size} bytes ({size / 1024:.0f} KiB)")
        L.append(f"- record buffers (stats): {ppc} pages per CPU × {cpus} CPUs = {buf} bytes "
                 f"({buf / 1024:.0f} KiB), the default")
        L.append(f"- total: {(size + buf) / 1024:.0f} KiB (plus the module's small in-flight "
                 "tables, not reported by the stats)")
    else:
        L.append("- not measured (the module did not load)")
    L.append("")

    # ---- decode
    L += decode_section(decode)

    # ---- head to head
    pairs = [(SAME_PROBES, "bpftrace"), (AGGREGATOR, "perf"), (READER, "bpftrace"),
             (READER, SAME_JOB)]
    pairs = [(a, b) for a, b in pairs if a in variants and b in variants]
    if pairs:
        workload_table("Head to head, round by round",
                       "Each cell: the first variant's overhead minus the second's, in points "
                       "of the baseline, median over the rounds, then the lowest and highest "
                       "round, and in how many rounds the first was the cheaper (both measured "
                       "in the same round, against the same baseline batch).",
                       "pair")
        for a, b in pairs:
            cells = []
            for w in workloads:
                d = [(ns[(r, a, w)] - ns[(r, b, w)]) / ns[(r, "unloaded", w)] * 100
                     for r in sorted({k[0] for k in ns})
                     if (r, a, w) in ns and (r, b, w) in ns and (r, "unloaded", w) in ns]
                if not d:
                    cells.append("–")
                    continue
                cells.append(f"{statistics.median(d):+.2f} [{min(d):+.2f} … {max(d):+.2f}], "
                             f"cheaper in {sum(x < 0 for x in d)}/{len(d)}")
            L.append(f"| `{a}` − `{b}` | " + " | ".join(cells) + " |")
        L.append("")

    # ---- targets
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | status |")
    L.append("|---|---|---|")

    def overhead_target(w, limit):
        m = med_ratio(READER, w)
        if m is None:
            return (f"enabled + reader ≤ {limit}% on {wl_names.get(w, w)}", "not measured",
                    "not measured")
        xs = ratios[(READER, w)]
        return (f"enabled + reader ≤ {limit}% slower on {wl_names.get(w, w)}",
                f"{pct(m)} median [{pct(quantile(xs, .25))} … {pct(quantile(xs, .75))}]",
                "met" if (m - 1) * 100 <= limit else "missed")

    rows = [overhead_target("fork", 1), overhead_target("cow", 3)]
    comp = []
    same = SAME_PROBES if any(med_ratio(SAME_PROBES, w) for w in workloads) else READER
    for w in workloads:
        a, b = med_ratio(same, w), med_ratio("bpftrace", w)
        if a is not None and b is not None:
            comp.append((w, a, b))
    if comp:
        lower = [w for w, a, b in comp if a < b]
        rows.append((f"less overhead than bpftrace on the same probes (`{same}` vs `bpftrace`)",
                     "; ".join(f"{wl_names.get(w, w)}: {pct(a)} vs {pct(b)}" for w, a, b in comp),
                     "met" if len(lower) == len(comp) else
                     f"missed: lower on {len(lower)} of {len(comp)} workloads"))
    else:
        rows.append(("less overhead than bpftrace", "not measured", "not measured"))
    comp = [(w, med_ratio(AGGREGATOR, w), med_ratio("perf", w)) for w in workloads]
    comp = [(w, a, b) for w, a, b in comp if a is not None and b is not None]
    if comp:
        lower = [w for w, a, b in comp if a < b]
        rows.append(("`clonescope stat` (in-kernel aggregation) less overhead than `perf record "
                     "-e sched:sched_process_fork`",
                     "; ".join(f"{wl_names.get(w, w)}: {pct(a)} vs {pct(b)}" for w, a, b in comp),
                     "met" if len(lower) == len(comp) else
                     f"missed: lower on {len(lower)} of {len(comp)} workloads"))

    def overheads_against(other):
        """READER's and @other's median ratios per workload, both measured."""
        comp = [(w, med_ratio(READER, w), med_ratio(other, w)) for w in workloads]
        return [(w, a, b) for w, a, b in comp if a is not None and b is not None]

    def overheads_text(comp):
        return "; ".join(f"{wl_names.get(w, w)}: {pct(a)} vs {pct(b)} "
                         f"({(a - 1) / (b - 1):.1f}×)" if b != 1 else
                         f"{wl_names.get(w, w)}: {pct(a)} vs {pct(b)}"
                         for w, a, b in comp)

    comp = overheads_against("bpftrace")
    if comp:
        # Overheads, not ratios: within 1.5x of bpftrace's extra time (and
        # never more than 1.5x of nothing when bpftrace's is ~0 or below).
        within = [w for w, a, b in comp if (a - 1) <= 1.5 * max(b - 1, 0)]
        rows.append(("default `record` (every group) overhead within 1.5× bpftrace's",
                     overheads_text(comp),
                     "met" if len(within) == len(comp) else
                     f"missed: within on {len(within)} of {len(comp)} workloads"))
    comp = overheads_against(SAME_JOB)
    if comp:
        lower = [w for w, a, b in comp if a < b]
        rows.append(("not a target, for comparison (the issue's target is the row above, "
                     "against the two-function one-liner): default `record` against "
                     f"bpftrace doing the same job (`{SAME_JOB}`, bench/samejob.bt)",
                     overheads_text(comp),
                     f"record lower on {len(lower)} of {len(comp)} workloads"))
    sb = [b for b in by_vw.get((READER, "storm"), [])]
    if sb:
        d = sum(int(b["dropped"]) for b in sb)
        o = sum(int(b.get("inflight_overflow", 0)) for b in sb)
        rate = statistics.median(float(b["clones_per_s"]) for b in sb)
        rows.append(("zero drops at the fork-storm rate (default buffer, reader)",
                     f"{d} dropped, {o} in-flight overflow over {len(sb)} storms at a median "
                     f"{rate:.0f} clones/s",
                     "met" if d == 0 and o == 0 else "missed"))
    else:
        rows.append(("zero drops at the fork-storm rate", "not measured", "not measured"))
    if decode.get("decode_events_per_s"):
        r = float(decode["decode_events_per_s"])
        rows.append(("decode ≥ 5M events/s on one core", f"{r / 1e6:.2f} M events/s",
                     "met" if r >= DECODE_TARGET else "missed"))
    else:
        rows.append(("decode ≥ 5M events/s", "not measured", "not measured"))
    for t, m, s in rows:
        L.append(f"| {t} | {m} | **{s}** |")
    L.append("")
    if zero_drop_rates:
        rate, w = max(zero_drop_rates)
        L.append(f"Highest clone rate seen with zero drops (default buffer, `clonescope record` "
                 f"reading): {rate:.0f} clones/s ({wl_names.get(w, w)}), the fastest batch "
                 "of this run; no faster rate was tried.")
        L.append("")
    if accel == "ICOUNT":
        L.append("Under -icount an overhead target is judged on instructions executed; what "
                 "an instruction costs on hardware (a trap, a cache miss) is not in it.")
        L.append("")
    elif accel != "KVM":
        L.append("Under TCG an overhead target is judged on emulated ratios; kprobe traps and "
                 "page faults are relatively dearer under emulation, so re-run on KVM or bare "
                 "metal before taking a missed overhead target as final.")
        L.append("")

    # ---- problems
    if errors:
        L.append("## Failed batches")
        L.append("")
        for e in errors:
            what = e.get("error") or e.get("setup_error")
            L.append(f"- round {e.get('round')}, {e.get('variant')}"
                     f"{', ' + e['workload'] if 'workload' in e else ' (setup)'}: {what}")
        L.append("")
    results.write_text("\n".join(L))


if __name__ == "__main__":
    main()
