#!/usr/bin/env bash
# Guest side of `make bench` (run by selftests/vm/run.sh inside the test
# guest, from the repository).  Runs every workload under every variant,
# round by round, each round in a fresh shuffled variant order, and writes
# the raw measurements to $CLONESCOPE_OUT for bench/report.py:
#   raw.txt     one line per batch: round= pos= variant= workload= plus the
#               workload's own key=value line and, where the module ran,
#               its stats (cs-ctl stats)
#   meta.txt    key=value facts about the guest, the module and the tools
#   *.log       tracer output, for the curious
#
# Arguments are KEY=VALUE settings (bench/run.sh passes them): ROUNDS,
# VARIANTS, WORKLOADS, ITERS_<workload> (with - as _), COW_MIB, SEED,
# PROFILE, LAYOUT, TRACER_TIMEOUT.
# shellcheck disable=SC2034,SC2317 # ITERS_* are read through ${!var}; setup_*, run_*, teardown_* and the readiness checks are called by name
set -euo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$CLONESCOPE_REPO/selftests/vm/guest-lib.sh"

# Snapshots taken at the start (see snapshot()): the host tree is live in
# the guest, and a rebuild on the host must not change a binary mid-run.
BENCH_BIN=/tmp/bench-bin
TOOL_DIR=/tmp/bench-tool
TOOL="$TOOL_DIR/clonescope"
MODULE=/tmp/clonescope.ko
SAMEJOB_BT=/tmp/samejob.bt
OUT="$CLONESCOPE_OUT"
RAW="$OUT/raw.txt"
META="$OUT/meta.txt"

ROUNDS=8
# record-shim and forkstat are left out by default to keep a run within
# 20 minutes; BENCH_VARIANTS adds them.
VARIANTS="unloaded disabled nullprobes noreader pollreader drain drain-perwait record record-clone stat bpftrace bpftrace-samejob perf"
WORKLOADS="fork vfork-exec spawn thread cow storm"
ITERS_fork=600
ITERS_vfork_exec=100
ITERS_spawn=100
ITERS_thread=3000
ITERS_cow=3
ITERS_storm=400
COW_MIB=256
SEED=1
PROFILE=0
# LAYOUT=random: cs-workload keeps ASLR (CS_WORKLOAD_LAYOUT; see
# bench/workload.c), instead of one fixed address-space layout.
LAYOUT=fixed
# In guest seconds, which are not the host's: under icount an idle guest
# (a tracer starting up waits for its libraries over 9p) jumps its clock
# to the next timer, on a loaded host by minutes (perf "not ready after
# 180 s" in 2 of 6 rounds).  The run's real limit is VM_TIMEOUT, in host
# time; this only catches a tracer that never gets ready.
TRACER_TIMEOUT=1200
STOP_GRACE=30

# shellcheck source=bench/guest-settings.sh
source "$CLONESCOPE_REPO/bench/guest-settings.sh" "$@"

meta() {
	printf '%s=%s\n' "$1" "$2" >> "$META"
}

log() {
	printf 'bench: [%s] %s\n' "$(date +%T)" "$*"
}

# PROFILE=1: every batch says where its time went (cs-workload's
# CS_WORKLOAD_PROFILE) into profile.txt, between marks of what the bench
# started when (uptime, the clock cs-workload's t0_ns counts).  Kept on
# tmpfs during the run, so its writes do not leave 9p work to a batch.
PROFILE_FILE=/tmp/bench-profile.txt
profile_mark() {
	((PROFILE)) || return 0
	printf 'mark %s uptime=%s\n' "$*" "$(cut -d' ' -f1 /proc/uptime)" >> "$PROFILE_FILE"
}

# ---------------------------------------------------------------- module

module_loaded() {
	grep -q '^clonescope ' /proc/modules
}

# The parameters the loaded module got: a variant that wants others reloads.
module_params=""

# module_load [PARAM=VALUE...]
module_load() {
	if module_loaded && [[ "$module_params" == "$*" ]]; then
		return 0
	fi
	module_unload || return
	insmod_clonescope "$MODULE" "$@" || return
	module_params="$*"
}

module_unload() {
	if module_loaded; then
		rmmod clonescope
	fi
}

# ---------------------------------------------------------------- tracers

tracer_pid=""
tracer_log=""

# Waits until CHECK (a command) succeeds while the tracer is alive.
wait_ready() {
	local what="$1" check="$2" t0=$SECONDS

	while ((SECONDS - t0 < TRACER_TIMEOUT)); do
		if ! kill -0 "$tracer_pid" 2>/dev/null; then
			echo "$what exited before it was ready: $(tail -n 5 "$tracer_log" | tr '\n' ' ')" >&2
			tracer_pid=""
			return 1
		fi
		if "$check"; then
			log "$what ready after $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.1
	done
	echo "$what not ready after ${TRACER_TIMEOUT}s" >&2
	return 1
}

# SIGINT (how a user stops a tracer: bpftrace prints its maps), then
# SIGTERM, then SIGKILL, each after $STOP_GRACE s.
stop_tracer() {
	local i sig t0=$SECONDS

	[[ -n "$tracer_pid" ]] || return 0
	for sig in INT TERM KILL; do
		kill -"$sig" "$tracer_pid" 2>/dev/null || break
		for ((i = 0; i < STOP_GRACE * 10; i++)); do
			kill -0 "$tracer_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$tracer_pid" 2>/dev/null || break
		log "tracer $tracer_pid still running $((SECONDS - t0)) s after SIG$sig"
	done
	wait "$tracer_pid" 2>/dev/null || true
	log "tracer stopped in $((SECONDS - t0)) s"
	tracer_pid=""
}

BPFTRACE_PROG='
kprobe:kernel_clone { @kc_start[tid] = nsecs; }
kretprobe:kernel_clone /@kc_start[tid]/ {
	@kernel_clone_ns = hist(nsecs - @kc_start[tid]); delete(@kc_start[tid]);
}
kprobe:copy_process { @cp_start[tid] = nsecs; }
kretprobe:copy_process /@cp_start[tid]/ {
	@copy_process_ns = hist(nsecs - @cp_start[tid]); delete(@cp_start[tid]);
}'

# bpftrace_armed PROGRAM: bpftrace running PROGRAM said it attaches, every
# kprobe and kretprobe of PROGRAM is in the kernel's kprobe list (the module
# is unloaded: they are bpftrace's), and bpftrace holds a perf event per
# probe, tracepoints included, besides its output buffer's one per CPU.
# The list goes to the log as evidence.
bpftrace_armed() {
	local prog="$1" list kind fn probes fds

	grep -q '^Attaching [0-9]* probes' "$tracer_log" || return 1
	list="$(cat /sys/kernel/debug/kprobes/list 2>/dev/null)" || return 1
	while read -r kind fn; do
		[[ "$kind" == kprobe ]] && kind=k || kind=r
		grep -Eq " $kind +$fn\+0x0" <<< "$list" || return 1
	done < <(grep -oE '^[[:space:]]*k(ret)?probe:[A-Za-z0-9_]+' <<< "$prog" | tr ':' ' ')
	probes="$(grep -cE '^[[:space:]]*(k(ret)?probe|tracepoint):' <<< "$prog")"
	fds="$(find "/proc/$tracer_pid/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null | wc -l)"
	((fds >= probes + $(nproc))) || return 1
	printf 'perf events: %s for %s probes\nkprobes at readiness:\n%s\n' "$fds" "$probes" \
		"$list" > "${tracer_log%.log}-kprobes.txt"
}

bpftrace_attached() { bpftrace_armed "$BPFTRACE_PROG"; }

# bench/samejob.bt: every probe the module's default groups arm on 6.1.
samejob_attached() { bpftrace_armed "$(cat "$SAMEJOB_BT")"; }

# forkstat has printed an event of ours.
forkstat_sees() {
	/bin/true
	grep -q 'fork' "$tracer_log"
}

# perf has its per-CPU events open.
perf_attached() {
	local n

	n="$(find "/proc/$tracer_pid/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null | wc -l)"
	((n >= $(nproc)))
}

# ---------------------------------------------------------------- variants
# setup_V ROUND: prepare the variant for its batches of this round.
# run_V WORKLOAD: run one batch, print the workload's line, then (when the
# module was involved) the stats line.  teardown_V ROUND: undo setup_V.

setup_unloaded() { module_unload; }
run_unloaded() { workload "$1"; }
teardown_unloaded() { :; }

setup_disabled() { module_load; }
# The stats still show the last session (only ENABLE resets them): the
# handler calls made during the batch are the difference.
handler_calls() {
	"$BENCH_BIN/cs-ctl" stats | sed -n 's/.*handler_calls=\([0-9]*\).*/\1/p'
}

run_disabled() {
	local before after

	before="$(handler_calls)" || return
	workload "$1" || return
	after="$(handler_calls)" || return
	echo "disabled_handler_calls=$((after - before))"
}
teardown_disabled() { :; }

# start_holder OUT CS-CTL-ARGS...: cs-ctl in the background, its PID in
# holder_pid, once it said "ready" in OUT.  Fails, cs-ctl gone, when not.
start_holder() {
	local out="$1" i

	shift
	"$BENCH_BIN/cs-ctl" "$@" > "$out" &
	holder_pid=$!
	# Arming every probe takes seconds of guest time (under icount too).
	for ((i = 0; i < 600; i++)); do
		grep -q ready "$out" && return 0
		kill -0 "$holder_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "cs-ctl $* did not start (waited $((i / 10)) s): $(head -c 300 "$out")" >&2
	# Gone before the next batch, which would find the device busy.
	kill -KILL "$holder_pid" 2>/dev/null
	wait "$holder_pid"
	return 1
}

# ctl_batch WORKLOAD CS-CTL-ARGS...: one batch with cs-ctl owning the
# session (enabled, every probe group), then its stats.  A cs-ctl that did
# not start is tried once more (seen once in 144 batches under icount).
ctl_batch() {
	local wl="$1" holder_out=/tmp/holder.out rc=0

	shift
	start_holder "$holder_out" "$@" || start_holder "$holder_out" "$@" || return
	workload "$wl" || rc=$?
	kill -TERM "$holder_pid"
	wait "$holder_pid" || rc=$?
	grep -v ready "$holder_out"
	return "$rc"
}

# The cost breakdown: the same probes armed with handlers that return at
# once (the probe machinery), then with their handlers and no reader (the
# handler bodies), then with readers of three kinds (delivery).
setup_nullprobes() { module_load null_handlers=1; }
run_nullprobes() { ctl_batch "$1" hold; }
teardown_nullprobes() { :; }

setup_noreader() { module_load; }
run_noreader() { ctl_batch "$1" hold; }
teardown_noreader() { :; }

# A reader that never blocks: it reads what is there every 100 ms.
setup_pollreader() { module_load; }
run_pollreader() { ctl_batch "$1" poll 100; }
teardown_pollreader() { :; }

# A blocking reader that the module wakes (timer or half-full buffer).
setup_drain() { module_load; }
run_drain() { ctl_batch "$1" drain; }
teardown_drain() { :; }

# The same reader woken at the first record of each wait (wakeup_ms=0:
# how the module delivered before the timer).
setup_drain_perwait() { module_load wakeup_ms=0; }
run_drain_perwait() { ctl_batch "$1" drain; }
teardown_drain_perwait() { :; }

setup_record() { module_load; }
record_batch() {
	local wl="$1" rc=0

	shift
	echo "== $wl $*" >> "$OUT/record.log"
	profile_mark "record start"
	"$TOOL" record -q -o /tmp/bench.cst "$@" -- \
		"$BENCH_BIN/cs-workload" "$wl" "$(iters "$wl")" "$(workload_arg "$wl")" \
		2>> "$OUT/record.log" || rc=$?
	((rc == 0)) || echo "clonescope record exited with status $rc" >&2
	rm -f /tmp/bench.cst
	"$BENCH_BIN/cs-ctl" stats
	return "$rc"
}
run_record() { record_batch "$1" --no-preload; }
teardown_record() { :; }

# The clone group only (kernel_clone, task_newtask, the wake-up, the
# child's start): about the probes bpftrace's variant has.
setup_record_clone() { module_load; }
run_record_clone() { record_batch "$1" --no-preload --probes clone; }
teardown_record_clone() { :; }

# clonescope stat, system-wide, as perf record -a is: the module aggregates
# in the kernel and writes no record.  Started per batch, so the batch's
# stats are its own.
setup_stat() { module_load; }
run_stat() {
	local wl="$1" pid i rc=0

	profile_mark "stat start"
	"$TOOL" stat 1 > "$OUT/stat.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		"$BENCH_BIN/cs-ctl" stats | grep -q 'enabled=1' && break
		sleep 0.05
	done
	"$BENCH_BIN/cs-ctl" stats | grep -q 'enabled=1' ||
		{ kill "$pid"; echo "clonescope stat did not enable tracing" >&2; return 1; }
	workload "$wl" || rc=$?
	kill -INT "$pid"
	wait "$pid" || rc=$?
	"$BENCH_BIN/cs-ctl" stats
	return "$rc"
}
teardown_stat() { :; }

setup_record_shim() { module_load; }
run_record_shim() { record_batch "$1"; }
teardown_record_shim() { :; }

# An outside tracer, the module unloaded: start_tracer NAME ROUND READY CMD...
# runs CMD in the background into NAME's log of ROUND and waits until the
# READY check passes.
start_tracer() {
	local name="$1" round="$2" ready="$3"

	shift 3
	module_unload || return
	tracer_log="$OUT/$name-round$round.log"
	profile_mark "$name start"
	"$@" > "$tracer_log" 2>&1 < /dev/null &
	tracer_pid=$!
	wait_ready "$name" "$ready"
}

setup_bpftrace() { start_tracer bpftrace "$1" bpftrace_attached bpftrace -e "$BPFTRACE_PROG"; }
run_bpftrace() { workload "$1"; }
teardown_bpftrace() { stop_tracer; }

# bpftrace doing the default record's job (bench/samejob.bt): its maps
# are printed when it stops, into the round's log.
setup_bpftrace_samejob() {
	start_tracer bpftrace-samejob "$1" samejob_attached bpftrace "$SAMEJOB_BT"
}
run_bpftrace_samejob() { workload "$1"; }
teardown_bpftrace_samejob() { stop_tracer; }

# Line-buffered, as on a terminal, so readiness shows in the file.
setup_forkstat() {
	start_tracer forkstat "$1" forkstat_sees stdbuf -oL forkstat -e fork,exec,exit
}
run_forkstat() { workload "$1"; }
teardown_forkstat() { stop_tracer; }

setup_perf() {
	start_tracer perf "$1" perf_attached \
		perf record -q -a -e sched:sched_process_fork -o /tmp/perf.data
}
run_perf() { workload "$1"; }
teardown_perf() {
	stop_tracer
	if [[ -f /tmp/perf.data ]]; then
		echo "perf.data bytes: $(stat -c %s /tmp/perf.data)" >> "$tracer_log"
		rm -f /tmp/perf.data
	fi
}

# ---------------------------------------------------------------- workloads

iters() {
	local var="ITERS_${1//-/_}"
	printf '%s\n' "${!var}"
}

# One forker per CPU, and never fewer than two: on one vCPU (icount) two
# forkers still have clones in flight at once, preempting each other.
storm_forkers() {
	local n

	n="$(nproc)"
	echo $((n > 2 ? n : 2))
}

workload_arg() {
	case "$1" in
	cow) echo "$COW_MIB" ;;
	storm) storm_forkers ;;
	vfork-exec | spawn) echo "$BENCH_BIN/cs-true" ;;
	*) echo 0 ;;
	esac
}

workload() {
	"$BENCH_BIN/cs-workload" "$1" "$(iters "$1")" "$(workload_arg "$1")"
}

# ---------------------------------------------------------------- main

# Tools that cannot run here are dropped from the variant list, and why is
# recorded in meta.txt.
check_variants() {
	local v kept=""

	for v in $VARIANTS; do
		case "$v" in
		record | record-clone | record-shim | stat)
			if [[ ! -x "$TOOL" ]]; then
				meta "unavailable_$v" "clonescope tool not built ($BUILD/tool/clonescope)"
				continue
			fi
			;;
		bpftrace | bpftrace-samejob)
			if ! command -v bpftrace > /dev/null; then
				meta "unavailable_$v" "bpftrace not installed"
				continue
			fi
			meta bpftrace_version "$(bpftrace --version 2>&1 | head -n 1)"
			;;
		forkstat)
			if ! command -v forkstat > /dev/null; then
				meta "unavailable_$v" "forkstat not installed"
				continue
			fi
			meta forkstat_version "$(dpkg-query -W -f='${Version}' forkstat 2>/dev/null || echo unknown)"
			;;
		perf)
			if ! perf --version > /tmp/perf-version 2>&1; then
				meta "unavailable_$v" "perf does not run here: $(head -n 1 /tmp/perf-version)"
				continue
			fi
			meta perf_version "$(head -n 1 /tmp/perf-version)"
			;;
		esac
		kept+=" $v"
	done
	VARIANTS="${kept# }"
}

describe_guest() {
	local accel=tcg

	# The kernel says so when it runs on KVM; TCG shows no such line, and
	# run.sh says when it counts instructions.
	dmesg | grep -q 'Hypervisor detected: KVM' && accel=kvm
	[[ "${CLONESCOPE_ACCEL:-}" == icount ]] && accel=icount
	meta accel "$accel"
	meta kernel "$(uname -r)"
	meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	meta cpus "$(nproc)"
	meta cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	meta mem_kib "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
	meta rounds "$ROUNDS"
	meta variants "$VARIANTS"
	meta workloads "$WORKLOADS"
	meta cow_mib "$COW_MIB"
	meta storm_forkers "$(storm_forkers)"
	meta seed "$SEED"
	meta layout "$LAYOUT"
	local w
	for w in $WORKLOADS; do
		meta "iters_$w" "$(iters "$w")"
	done
}

describe_module() {
	local st

	module_load
	meta module_size_bytes "$(awk '$1 == "clonescope" {print $2}' /proc/modules)"
	st="$("$BENCH_BIN/cs-ctl" stats)"
	meta module_stats_at_load "$st"
	"$TOOL" status > "$OUT/status.txt" 2>&1 || true
	module_unload
}

# One batch: its lines joined into one raw line, or an error line with the
# batch's status, stderr and whatever it printed.
batch() {
	local round="$1" pos="$2" variant="$3" wl="$4" out fn="run_${3//-/_}" rc=0

	profile_mark "batch round=$round pos=$pos variant=$variant workload=$wl"
	out="$("$fn" "$wl" 2> /tmp/batch.err)" || rc=$?
	if ((rc == 0)); then
		printf 'round=%s pos=%s variant=%s workload=%s %s\n' \
			"$round" "$pos" "$variant" "$wl" "$(tr '\n' ' ' <<< "$out")" >> "$RAW"
	else
		printf 'round=%s pos=%s variant=%s workload=%s error=%q\n' \
			"$round" "$pos" "$variant" "$wl" \
			"status $rc: $(tail -n 3 /tmp/batch.err | tr '\n' ' ') output: $(tr '\n' ' ' <<< "$out")" >> "$RAW"
		log "round $round: $variant $wl failed (status $rc): $(tail -n 3 /tmp/batch.err | tr '\n' ' ')"
	fi
}

# Sets SHUFFLED to its arguments in a random order (Fisher-Yates on
# $RANDOM, which main seeds, in this shell: a run is repeatable).
shuffle() {
	local i j t

	SHUFFLED=("$@")
	for ((i = ${#SHUFFLED[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t="${SHUFFLED[i]}" SHUFFLED[i]="${SHUFFLED[j]}" SHUFFLED[j]="$t"
	done
}

run_round() {
	local round="$1" pos=0 v w order workloads t0

	# shellcheck disable=SC2086 # word splitting of the lists is meant
	shuffle $VARIANTS
	order="${SHUFFLED[*]}"
	# Workloads are shuffled too, so none always runs first after a setup.
	# shellcheck disable=SC2086
	shuffle $WORKLOADS
	workloads="${SHUFFLED[*]}"
	log "round $round/$ROUNDS: $order"
	for v in $order; do
		pos=$((pos + 1))
		t0=$SECONDS
		profile_mark "setup $v"
		if ! "setup_${v//-/_}" "$round" 2> /tmp/setup.err; then
			printf 'round=%s pos=%s variant=%s setup_error=%q\n' "$round" "$pos" "$v" \
				"$(tail -n 3 /tmp/setup.err | tr '\n' ' ')" >> "$RAW"
			log "round $round: $v setup failed: $(tail -n 3 /tmp/setup.err | tr '\n' ' ')"
			stop_tracer
			continue
		fi
		# What the setup left running in the kernel (an rmmod's deferred
		# frees, a tracer's start-up work) must not land in a batch: on
		# one vCPU it would.
		sleep 1
		log "round $round: $v set up in $((SECONDS - t0)) s"
		for w in $workloads; do
			batch "$round" "$pos" "$v" "$w"
		done
		profile_mark "teardown $v"
		"teardown_${v//-/_}" "$round"
		log "round $round: $v done in $((SECONDS - t0)) s"
	done
}

# The tool finds its LD_PRELOAD shim next to itself: copy both.
snapshot() {
	mkdir -p "$BENCH_BIN" "$TOOL_DIR"
	cp "$CLONESCOPE_REPO/module/clonescope.ko" "$MODULE"
	cp "$CLONESCOPE_REPO/bench/samejob.bt" "$SAMEJOB_BT"
	cp "$BUILD/bench/cs-workload" "$BUILD/bench/cs-ctl" "$BUILD/bench/cs-true" "$BENCH_BIN/"
	if [[ -x "$BUILD/tool/clonescope" ]]; then
		cp "$BUILD/tool/clonescope" "$TOOL_DIR/"
		cp "$BUILD/tool/libclonescope-preload.so" "$TOOL_DIR/" 2>/dev/null || true
	fi
}

main() {
	local round start

	start=$(date +%s)
	RANDOM="$SEED"
	# Job control: background tracers get their own process group and do
	# not start with SIGINT ignored, as a non-interactive shell's would.
	set -m
	snapshot
	: > "$RAW"
	: > "$META"
	trap 'stop_tracer; module_unload || true' EXIT
	check_variants
	describe_guest
	describe_module

	export CS_WORKLOAD_LAYOUT="$LAYOUT"
	# Warm-up, not recorded: page cache, dynamic loader, first faults.
	for w in $WORKLOADS; do
		workload "$w" > /dev/null
	done
	if ((PROFILE)); then
		: > "$PROFILE_FILE"
		export CS_WORKLOAD_PROFILE="$PROFILE_FILE"
	fi
	for ((round = 1; round <= ROUNDS; round++)); do
		run_round "$round"
		if ((PROFILE)); then
			cp "$PROFILE_FILE" "$OUT/profile.txt"
		fi
	done
	meta guest_seconds "$(($(date +%s) - start))"
	log "done in $(($(date +%s) - start)) s"
}

# One line: bash reads no further, so editing this file mid-run is harmless.
main; exit
