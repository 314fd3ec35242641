#!/usr/bin/env bash
# `clonescope record` of processes that already run (issue 21), in the test
# guest with the module loaded (TAP on stdout, exit status 1 on a failure).
#
# Two forkers (fork_a, fork_b: copies of bash, so that their comm tells
# them apart) each fork a `sleep 0.1` in a loop, started before any
# recording, and count their own forks.  Each recording must catch forks
# of what it targets, no more than that process counted meanwhile, and
# none of the other's while the other was seen forking; every way it ends
# (--duration, SIGINT, SIGTERM) must give produced = delivered + dropped.
# The machine may be loaded: rates are not assumed, only counted.
#
# usage: attach_test.sh [TOOL_BUILD_DIR]   (default $BUILD/tool)
set -uo pipefail

# shellcheck source=tool/tests/guest/tap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"

TOOL_DIR="${1:-${BUILD:?}/tool}"
CS="$TOOL_DIR/clonescope"
TMP="$(mktemp -d)"
CGROUP_NAME=clonescope-attach-test
DURATION=4
pids=()

# SIGKILL: a pid namespace's init ignores SIGTERM.  Only our own
# background jobs are waited for, one by one.
cleanup() {
	local pid

	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	[[ -n "${CGROUP_DIR:-}" ]] && rmdir "$CGROUP_DIR" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_forker COMM [WRAPPER...]: a process of that comm forking every
# 100 ms, writing how many forks it made to $TMP/COMM.count after each
# (a builtin: no fork of its own); its pid (the wrapper's, if any) in
# $forker.
start_forker() {
	local comm="$1"

	shift
	cp /bin/bash "$TMP/$comm"
	"$@" "$TMP/$comm" -c 'n=0; while :; do sleep 0.1; n=$((n + 1)); echo $n > "$0"; done' \
		"$TMP/$comm.count" &
	forker=$!
	pids+=("$forker")
}

# own_forks COMM: the forks that forker has counted so far.  It rewrites
# the file in place: read between its truncation and its write, the file
# is empty (seen on the slow debug kernel): read again.
own_forks() {
	local c="" tries

	for ((tries = 0; tries < 50; tries++)); do
		c="$(cat "$TMP/$1.count" 2>/dev/null)"
		[[ -n "$c" ]] && break
		sleep 0.02
	done
	echo "${c:-0}"
}

# forks_of COMM CSV: clones that tasks of COMM made, by the report's sites
# (attached processes have no user call: "[no user call (attached)] COMM").
forks_of() {
	awk -F, -v comm="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["group_by"] == "site" && $col["metric"] == "total" &&
		$col["key"] ~ (" " comm "$") { sum += $col["count"] }
		END { print sum + 0 }' "$2"
}

# The module's counters in record's summary add up: produced =
# delivered + dropped, and something was produced.
summary_adds_up() {
	local p d x

	read -r p d x <<< "$(sed -nE \
		's/.*module: produced ([0-9]+), delivered ([0-9]+), dropped ([0-9]+).*/\1 \2 \3/p' "$1")"
	[[ -n "${p:-}" ]] && ((p > 0 && p == d + x))
}

# record_attached NAME RECORD-ARGS...: records into $TMP/NAME.cst, its
# stderr in $TMP/NAME.err, the report as CSV in $TMP/NAME.csv; the
# forkers' own counts meanwhile in $own_a and $own_b.
record_attached() {
	local name="$1" a0 b0 rc

	shift
	a0="$(own_forks fork_a)"
	b0="$(own_forks fork_b)"
	"$CS" record -q -o "$TMP/$name.cst" "$@" > /dev/null 2> "$TMP/$name.err"
	rc=$?
	own_a=$(($(own_forks fork_a) - a0))
	own_b=$(($(own_forks fork_b) - b0))
	((rc == 0)) && "$CS" report --csv "$TMP/$name.cst" > "$TMP/$name.csv" 2>> "$TMP/$name.err"
}

# want RULE RECORDED OWN: "some": at least one, and no more than the
# forker made meanwhile (+1: a fork whose count was not written yet);
# "none": not one, while the forker made some.
want() {
	case "$1" in
	none) (($2 == 0 && $3 >= 2)) ;;
	some) (($2 >= 1 && $2 <= $3 + 1)) ;;
	esac
}

# expect_forks WHAT NAME FORK_A-RULE FORK_B-RULE
expect_forks() {
	local what="$1" name="$2" a b

	a="$(forks_of fork_a "$TMP/$name.csv")"
	b="$(forks_of fork_b "$TMP/$name.csv")"
	if want "$3" "$a" "$own_a" && want "$4" "$b" "$own_b"; then
		ok "$what (recorded/own forks: fork_a $a/$own_a, fork_b $b/$own_b)"
	else
		not_ok "$what: fork_a $a/$own_a ($3), fork_b $b/$own_b ($4)" "$(cat "$TMP/$name.err")"
	fi
}

# A cgroup v2 directory of our own, with cgroup2 mounted if it is not.
make_cgroup() {
	local mnt

	mnt="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)"
	if [[ -z "$mnt" ]]; then
		mnt=/sys/fs/cgroup
		mount -t cgroup2 none "$mnt" || return 1
	fi
	CGROUP_DIR="$mnt/$CGROUP_NAME"
	mkdir -p "$CGROUP_DIR"
}

echo "TAP version 13"

start_forker fork_a
pid_a=$forker
start_forker fork_b
pid_b=$forker
sleep 1

# -p: its tree and nothing else, the shim's absence said once.
if record_attached p -p "$pid_a" --duration "$DURATION"; then
	expect_forks "record -p catches the forker's forks, not the other's" p some none
	check "record -p --duration: produced = delivered + dropped" summary_adds_up "$TMP/p.err"
	check "record -p says once that the shim cannot be injected" \
		test "$(grep -c "cannot be injected" "$TMP/p.err")" = 1
	check "record -p stopped at the duration" grep -q "stopped: duration reached" "$TMP/p.err"
else
	not_ok "record -p $pid_a --duration $DURATION" "$(cat "$TMP/p.err")"
fi

out="$("$CS" report "$TMP/p.cst" 2>&1)"
if grep -q "^attached: pid $pid_a (fork_a) and the tasks they created" <<< "$out" &&
	grep -q "\[no user call (attached)\] fork_a" <<< "$out"; then
	ok "report names the attached process and its clones without user calls"
else
	not_ok "report of an attached trace" "$out"
fi
"$CS" report --json --perfetto "$TMP/p.json" "$TMP/p.cst" > "$TMP/p.report.json" 2>&1
check "report --json and --perfetto work on an attached trace" \
	grep -q '"traceEvents"' "$TMP/p.json"

if record_attached a -a --duration "$DURATION"; then
	expect_forks "record -a catches both forkers" a some some
else
	not_ok "record -a --duration $DURATION" "$(cat "$TMP/a.err")"
fi

if record_attached c -a -c fork_b --duration "$DURATION"; then
	expect_forks "record -a -c fork_b catches only fork_b" c none some
else
	not_ok "record -a -c fork_b" "$(cat "$TMP/c.err")"
fi

if make_cgroup && echo "$pid_b" > "$CGROUP_DIR/cgroup.procs"; then
	if record_attached g -a -G "$CGROUP_NAME" --duration "$DURATION"; then
		expect_forks "record -a -G (cgroup made here) catches only its process" g none some
	else
		not_ok "record -a -G $CGROUP_NAME" "$(cat "$TMP/g.err")"
	fi
	# The full path works too; the forker in the cgroup, seen with -p.
	if record_attached g2 -p "$pid_a,$pid_b" -G "$CGROUP_DIR" --duration "$DURATION"; then
		expect_forks "record -p A,B -G /full/path: both pids, only the cgroup's" g2 none some
	else
		not_ok "record -p A,B -G $CGROUP_DIR" "$(cat "$TMP/g2.err")"
	fi
else
	not_ok "cannot make a cgroup v2 to test -G"
fi

# Ctrl-C and SIGTERM end an attached recording cleanly.
for sig in INT TERM; do
	"$CS" record -q -o "$TMP/sig.cst" -p "$pid_a" > /dev/null 2> "$TMP/sig.err" &
	rec=$!
	sleep 5 # the tool starts slowly under TCG
	kill -"$sig" "$rec"
	wait "$rec"
	rc=$?
	"$CS" report --csv "$TMP/sig.cst" > "$TMP/sig.csv" 2>> "$TMP/sig.err"
	forks="$(forks_of fork_a "$TMP/sig.csv")"
	if ((rc == 0)) && grep -q "stopped: SIG$sig" "$TMP/sig.err" &&
		summary_adds_up "$TMP/sig.err" && ((forks > 0)); then
		ok "SIG$sig ends record -p: exit 0, $forks forks kept, produced = delivered + dropped"
	else
		not_ok "SIG$sig: exit $rc, $forks forks" "$(cat "$TMP/sig.err")"
	fi
done

# A recording ends by itself when the processes it attached to exit.
sh -c 'sleep 4; exit 0' &
short=$!
if "$CS" record -q -o '' -p "$short" > /dev/null 2> "$TMP/exit.err" &&
	grep -q "stopped: every attached process has exited" "$TMP/exit.err"; then
	ok "record -p ends when the process exits"
else
	not_ok "record -p of an exiting process" "$(cat "$TMP/exit.err")"
fi

# A forker in its own pid namespace: pid 1 there.  Event lines and the
# report show both pids; Perfetto names the track with both.
start_forker fork_ns unshare --pid --fork --kill-child
sleep 1
ns_pid="$(pgrep -P "$forker" | head -n 1)"
[[ -n "$ns_pid" ]] && pids+=("$ns_pid")
if [[ -n "$ns_pid" ]] &&
	"$CS" record -o "$TMP/ns.cst" -p "$ns_pid" --duration "$DURATION" > "$TMP/ns.out" 2> "$TMP/ns.err"; then
	line="$(grep -m 1 -E "fork_ns +$ns_pid/$ns_pid \[ns 1/1\] .* -> [0-9]+ \[ns [0-9]+/[0-9]+\]" \
		"$TMP/ns.out")"
	if [[ -n "$line" ]]; then
		ok "pid namespace: event line shows both pids: $(tr -s ' ' <<< "$line")"
	else
		not_ok "pid namespace: no event line with both pids" "$(head -5 "$TMP/ns.out")"
	fi
	out="$("$CS" report --perfetto "$TMP/ns.json" "$TMP/ns.cst" 2>&1)"
	if grep -qE "^pid:\[[0-9]+\]: [0-9]+ tasks" <<< "$out" &&
		grep -qE "^ +$ns_pid/$ns_pid +-> +1/1 +fork_ns" <<< "$out"; then
		ok "pid namespace: report maps host pid $ns_pid to pid 1"
	else
		not_ok "pid namespace: report" "$out"
	fi
	check "pid namespace: Perfetto track named with both pids" \
		grep -q "fork_ns $ns_pid (ns pid 1)" "$TMP/ns.json"
else
	not_ok "record -p of the forker in a pid namespace (pid ${ns_pid:-not found})" \
		"$(cat "$TMP/ns.err" 2>/dev/null)"
fi

# A real service (the README's example): redis-server forks once per
# BGSAVE; the clones clonescope records while attached must be exactly the
# forks redis counts itself (INFO stats total_forks).
redis_info() {
	redis-cli -p "$REDIS_PORT" info "$1" | tr -d '\r' | sed -n "s/^$2://p"
}

redis_test() {
	local redis rec before after i forks cows

	ip link set lo up
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$TMP" --enable-debug-command yes > "$TMP/redis.log" 2>&1 &
	redis=$!
	pids+=("$redis")
	for ((i = 0; i < 300; i++)); do
		[[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] && break
		sleep 0.1
	done
	# Some data, so that each fork's copy-on-write has pages to copy.
	redis-cli -p "$REDIS_PORT" debug populate 20000 > /dev/null
	"$CS" record -o "$TMP/redis.cst" -p "$redis" > "$TMP/redis.out" 2> "$TMP/redis.err" &
	rec=$!
	sleep 5 # the tool starts slowly under TCG
	before="$(redis_info stats total_forks)"
	for ((i = 0; i < REDIS_SAVES; i++)); do
		redis-cli -p "$REDIS_PORT" bgsave > /dev/null
		# One at a time: redis refuses a BGSAVE while one runs.
		while [[ "$(redis_info persistence rdb_bgsave_in_progress)" != 0 ]]; do
			sleep 0.2
		done
		# Writes while the child may still share the pages: parent COW.
		redis-cli -p "$REDIS_PORT" set "after-save-$i" x > /dev/null
	done
	after="$(redis_info stats total_forks)"
	sleep 1
	kill -INT "$rec"
	wait "$rec"
	"$CS" report "$TMP/redis.cst" > "$TMP/redis.txt" 2>&1
	[[ -n "${CLONESCOPE_OUT:-}" ]] && cp "$TMP/redis.txt" "$CLONESCOPE_OUT/redis-report.txt"
	"$CS" report --csv "$TMP/redis.cst" > "$TMP/redis.csv" 2>> "$TMP/redis.err"
	forks="$(forks_of redis-server "$TMP/redis.csv")"
	cows="$(sed -nE 's/.*COW records: ([0-9]+).*/\1/p' "$TMP/redis.txt")"
	if [[ -n "$before" ]] && ((after - before == REDIS_SAVES && forks == REDIS_SAVES)); then
		ok "redis-server: $forks clones recorded = $((after - before)) forks redis counted (COW records: ${cows:-none})"
	else
		not_ok "redis-server: $forks clones recorded, redis counted ${before:-?} -> ${after:-?}" \
			"$(cat "$TMP/redis.err" "$TMP/redis.txt" "$TMP/redis.log")"
	fi
	kill "$redis"
}
REDIS_PORT=6399
REDIS_SAVES=3
if command -v redis-server > /dev/null; then
	redis_test
else
	ok "# SKIP redis-server not installed (make deps)"
fi

# Negative cases: clear errors, non-zero exit, nothing recorded.
expect_error() {
	local what="$1" pattern="$2" out rc

	shift 2
	out="$("$CS" record -q -o "$TMP/neg.cst" "$@" 2>&1)"
	rc=$?
	if ((rc != 0)) && grep -q -- "$pattern" <<< "$out"; then
		ok "$what: exit $rc, \"$(head -n 1 <<< "$out")\""
	else
		not_ok "$what: exit $rc" "$out"
	fi
}
# The lowest pid above every live one: not running.
no_pid=$(($(cat /proc/sys/kernel/pid_max) - 1))
expect_error "-p of a pid that does not exist" "no such process" -p "$no_pid" --duration 1
expect_error "-G of a cgroup that does not exist" "no such cgroup" -a -G no-such-cgroup --duration 1
expect_error "-p with a command" "give -p or a command, not both" -p "$pid_a" -- true
expect_error "-a with -p" "exclude each other" -a -p "$pid_a"
expect_error "no target" "nothing to record"

echo "1..$n"
exit "$failed"
