#!/usr/bin/env bash
# Guest side of `make cases` (run by selftests/vm/run.sh inside the test
# guest, from the repository): runs the seven case studies under
# `clonescope record` and leaves the raw material in $CLONESCOPE_OUT for
# bench/cases/report.py.  For each run ID:
#   ID.cmd      the workload's command line (what `record` ran)
#   ID.out      what `clonescope record` printed (one line per record)
#   ID.res      the workload's own key=value lines (user-side clocks, smaps)
#   ID.cst      the trace; ID.report / ID.json: `clonescope report` of it
# plus meta.txt (facts about the guest) and status.txt (`clonescope status`).
#
# Arguments are KEY=VALUE settings (bench/cases/run.sh passes them); the
# defaults are the full run, about 10 minutes under TCG.
set -euo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$CLONESCOPE_REPO/selftests/vm/guest-lib.sh"

OUT="$CLONESCOPE_OUT"
BIN=""				# a copy of the tool, shim, workload and module

SIZES="16 64 256 512 1024"	# study 1, MiB
REPS=5				# forks per size (medians of these)
THP_MIB=256			# study 2
THP_STRIDE=128			# study 2: a write every 128 pages (4 per 2 MiB)
SPAWN_MIB=512			# study 3
SPAWN_REPS=5
SPAWN_WRITES=4096		# study 3: pages the parent writes after each start
COW_MIB=256			# study 4
COW_PCT=100
COW_STEPS=8
THREAD_N=20			# study 5
THREAD_MIB=64
FAIL_MIB=64			# study 6: the failing parents
NPROC_LIMIT=5
PID_SLOTS=50
SIG_MIB=256
SIG_REPS=3
SIG_REAL_US=20			# SIGALRM interval, and at most that many
SIG_REAL_MAX=400
SIG_PROF_US=100			# SIGPROF (tick-bound: one per tick at most)
SIG_PROF_MAX=40
SIG_THREAD_MIB=16		# SIGUSR1 from a second thread, back to back,
SIG_THREAD_REPS=40		# during many short forks
SIG_THREAD_MAX=1000000
REDIS_KEYS=200000		# study 7: DEBUG POPULATE keys of REDIS_VALUE bytes
REDIS_VALUE=100
REDIS_REPS=3			# BGSAVEs, each while a client writes
REDIS_WRITES=50000		# SETs per BGSAVE (redis-benchmark, pipelined)
REDIS_PORT=6380
ONLY=""				# development: run only these studies (e.g. "7")

for kv in "$@"; do
	[[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "bad setting: $kv" >&2; exit 2; }
	declare "$kv"
done
[[ -n "$BIN" ]] || BIN="$BUILD/cases/bin-missing"
TOOL="$BIN/clonescope"
W="$BIN/cs-cases"

log() {
	printf 'cases: [%s] %s\n' "$(date +%T)" "$*"
}

meta() {
	printf '%s=%s\n' "$1" "$2" >> "$OUT/meta.txt"
}


# run ID ARGS...: one workload run under `clonescope record`.
run() {
	local id="$1" t0
	shift

	log "$id: cs-cases $*"
	printf '%s\n' "$*" > "$OUT/$id.cmd"
	t0=$(date +%s%N)
	"$TOOL" record -o "$OUT/$id.cst" -- "$W" "$OUT/$id.res" "$@" > "$OUT/$id.out" 2>&1 || {
		echo "$id: record failed:" >&2
		tail -n 20 "$OUT/$id.out" >&2
		return 1
	}
	echo "wall_ms=$((($(date +%s%N) - t0) / 1000000))" >> "$OUT/$id.res"
	"$TOOL" report --no-hist "$OUT/$id.cst" > "$OUT/$id.report" 2>&1
	"$TOOL" report --json "$OUT/$id.cst" > "$OUT/$id.json" 2> /dev/null
}

redis_cli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

# One INFO field of section $1, e.g. redis_info stats latest_fork_usec.
redis_info() {
	redis_cli info "$1" | tr -d '\r' | sed -n "s/^$2://p"
}

# Drives the server of study 7: populate, then REDIS_REPS times a BGSAVE
# while redis-benchmark writes, each with Redis's own figures of that fork
# as a line of $OUT/$1.res; then a clean shutdown.
redis_client() {
	local id="$1" i rep bench

	for ((i = 0; i < 600; i++)); do
		redis_cli ping 2> /dev/null | grep -q PONG && break
		sleep 0.1
	done
	redis_cli debug populate "$REDIS_KEYS" key "$REDIS_VALUE" > /dev/null
	echo "populated keys=$(redis_cli dbsize) used_memory=$(redis_info memory used_memory)" \
		>> "$OUT/$id.res"
	for ((rep = 1; rep <= REDIS_REPS; rep++)); do
		redis-benchmark -p "$REDIS_PORT" -q -t set -r "$REDIS_KEYS" -d "$REDIS_VALUE" \
			-n "$REDIS_WRITES" -P 16 > /dev/null 2>&1 &
		bench=$!
		sleep 0.5
		redis_cli bgsave > /dev/null
		for ((i = 0; i < 3000; i++)); do
			[[ "$(redis_info persistence rdb_bgsave_in_progress)" == 0 ]] && break
			sleep 0.1
		done
		echo "bgsave rep=$rep latest_fork_usec=$(redis_info stats latest_fork_usec)" \
			"rdb_last_cow_size=$(redis_info persistence rdb_last_cow_size)" \
			"status=$(redis_info persistence rdb_last_bgsave_status)" \
			"bgsave_seconds=$(redis_info persistence rdb_last_bgsave_time_sec)" >> "$OUT/$id.res"
		wait "$bench"
	done
	redis_cli shutdown nosave > /dev/null 2>&1
}

# 7. Redis BGSAVE: redis-server under `clonescope record` in the
# foreground, redis_client beside it.
redis_case() {
	local id=s7-redis dir=/tmp/cases-redis client rc=0

	ip link set lo up
	mkdir -p "$dir"
	local -a cmd=(redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save ""
		      --appendonly no --dir "$dir" --enable-debug-command yes --daemonize no
		      --logfile "$dir/server.log")
	log "$id: ${cmd[*]}"
	printf '%q ' "${cmd[@]}" > "$OUT/$id.cmd"
	: > "$OUT/$id.res"
	meta redis_version "$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
	redis_client "$id" &
	client=$!
	"$TOOL" record -o "$OUT/$id.cst" -- "${cmd[@]}" > "$OUT/$id.out" 2>&1 || rc=$?
	wait "$client"
	cp "$dir/server.log" "$OUT/$id.log"
	((rc == 0)) || { echo "$id: record failed ($rc):" >&2; tail -n 20 "$OUT/$id.out" >&2; return 1; }
	"$TOOL" report --no-hist "$OUT/$id.cst" > "$OUT/$id.report" 2>&1
	"$TOOL" report --json "$OUT/$id.cst" > "$OUT/$id.json" 2> /dev/null
}

# want N: whether study N runs (all unless ONLY names some).
want() {
	[[ -z "$ONLY" || " $ONLY " == *" $1 "* ]]
}

main() {
	local start mib mode

	start=$(date +%s)
	: > "$OUT/meta.txt"
	meta kernel "$(uname -r)"
	meta cpus "$(nproc)"
	meta mem_total_kb "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	meta thp_enabled "$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
	meta thp_defrag "$(cat /sys/kernel/mm/transparent_hugepage/defrag)"
	meta clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	meta cpu_model "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	meta pid_max "$(cat /proc/sys/kernel/pid_max)"
	meta glibc "$(ldd --version | head -n 1)"
	meta settings "SIZES='$SIZES' REPS=$REPS THP_MIB=$THP_MIB SPAWN_MIB=$SPAWN_MIB COW_MIB=$COW_MIB SIG_MIB=$SIG_MIB"

	insmod_clonescope "$BIN/clonescope.ko"
	trap 'rmmod clonescope' EXIT
	"$TOOL" status > "$OUT/status.txt" 2>&1

	if want 1; then
		# 1. fork latency vs parent size (4K pages)
		for mib in $SIZES; do
			run "s1-$mib" size "$mib" "$REPS" 0 0
		done
	fi

	if want 2; then
		# 2. THP off and on, the same parent, then a COW pass
		run s2-thp0 size "$THP_MIB" "$REPS" 0 "$THP_STRIDE"
		run s2-thp1 size "$THP_MIB" "$REPS" 1 "$THP_STRIDE"
	fi

	if want 3; then
		# 3. four ways to start /bin/true from a big parent
		for mode in fork vfork spawn clonevm; do
			run "s3-$mode" spawn "$mode" "$SPAWN_MIB" "$SPAWN_REPS" "$SPAWN_WRITES"
		done
	fi

	# 4. the COW bill of a snapshot fork
	want 4 && run s4-cowbill cowbill "$COW_MIB" "$COW_PCT" "$COW_STEPS"

	# 5. threads vs processes
	want 5 && run s5-threads threads "$THREAD_N" "$THREAD_MIB"

	if want 6; then
		# 6. failures and restarts (pid_max last: it wants the pid cursor past 300)
		run s6-nproc nproc "$FAIL_MIB" "$NPROC_LIMIT"
		run s6-sigalrm signals "$SIG_MIB" "$SIG_REPS" real "$SIG_REAL_US" "$SIG_REAL_MAX"
		run s6-sigprof signals "$SIG_MIB" "$SIG_REPS" prof "$SIG_PROF_US" "$SIG_PROF_MAX"
		run s6-sigthread signals "$SIG_THREAD_MIB" "$SIG_THREAD_REPS" thread 0 "$SIG_THREAD_MAX"
		run s6-pidmax pidmax "$FAIL_MIB" "$PID_SLOTS"
	fi

	# 7. Redis BGSAVE with concurrent writes
	want 7 && redis_case

	"$TOOL" status > "$OUT/status-end.txt" 2>&1
	meta guest_seconds "$(($(date +%s) - start))"
	log "done in $(($(date +%s) - start)) s"
}

main
