#!/usr/bin/env bash
# End-to-end test of the clonescope tool, run in the test guest with the
# module loaded (TAP on stdout, exit status 1 if anything failed).
#
# The workload (tests/workload/callsites.c) creates tasks from known call
# sites a known number of times; the report must name each site with
# exactly that count, and every user call must have matched its kernel
# record.
#
# `script` is checked on a fork of known copy-on-write bill
# (tests/workload/cow.c).
#
# usage: tool_test.sh [TOOL_BUILD_DIR]   (default $BUILD/tool)
set -uo pipefail

TOOL_DIR="${1:-${BUILD:?}/tool}"
CS="$TOOL_DIR/clonescope"
WORKLOAD="$TOOL_DIR/tests/clonescope_callsites"
COW_WORKLOAD="$TOOL_DIR/tests/clonescope_cow"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# site function -> count given to the workload (same order as its argv)
SITES=(site_fork site_spawn site_thread site_system site_vfork site_popen site_clone3)
COUNTS=(100 50 10 5 20 3 4)

# shellcheck source=tool/tests/guest/tap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"

echo "TAP version 13"

out="$("$CS" status 2>&1)"
if grep -q "^module ABI:" <<< "$out"; then ok "status shows the module ABI"; else not_ok "status" "$out"; fi

out="$("$CS" record -q -o "$TMP/c.cst" -- "$WORKLOAD" "${COUNTS[@]}" 2>&1)"
rc=$?
if ((rc == 0)); then ok "record the call-site workload"; else not_ok "record exit $rc" "$out"; fi

"$CS" report --csv "$TMP/c.cst" > "$TMP/report.csv" 2> "$TMP/report.err"
check "report --csv" test -s "$TMP/report.csv"
for i in "${!SITES[@]}"; do
	site="${SITES[$i]}"
	want="${COUNTS[$i]}"
	# The site's total row (by source line: "function (file:line) [module]"),
	# as "count matched": columns found by header name.
	row="$(awk -F, -v s="$site (" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["group_by"] == "site" && index($col["key"], s) == 1 &&
		$col["metric"] == "total" { print $col["count"], $col["matched"] }' \
		"$TMP/report.csv")"
	read -r count matched <<< "$row"
	if [[ "$count" == "$want" && "$matched" == "$want" ]]; then
		ok "$site: $want calls, all matched"
	else
		not_ok "$site: want $want calls all matched, got count=${count:-none} matched=${matched:-none}" \
			"$(grep -c . "$TMP/report.csv") CSV rows; $row"
	fi
done

"$CS" report --json --perfetto "$TMP/p.json" "$TMP/c.cst" > "$TMP/report.json" 2>/dev/null
unmatched="$(grep -o '"user_unmatched": [0-9]*' "$TMP/report.json" | grep -o '[0-9]*$')"
check "every user call matched its kernel record (unmatched=${unmatched:-?})" \
	test "${unmatched:-x}" = 0
check "perfetto trace written" grep -q '"traceEvents"' "$TMP/p.json"

out="$("$CS" record -q -o "$TMP/x.cst" -- sh -c 'exit 7' 2>&1)"
rc=$?
if ((rc == 7)); then ok "record exits with the command's status"; else not_ok "exit status $rc, want 7" "$out"; fi

out="$("$CS" record -q -o "$TMP/x.cst" -- /nonexistent/cmd 2>&1)"
rc=$?
if ((rc == 127)) && grep -q "No such file" <<< "$out"; then
	ok "a missing command: 127 and a clear error"
else
	not_ok "missing command: exit $rc" "$out"
fi

# SIGINT stops cleanly and keeps what was recorded.  The command execs
# sleep so that the forwarded SIGINT reaches a process that dies of it.
"$CS" record -q -o "$TMP/int.cst" -- sh -c 'sleep 0 & wait; exec sleep 60' > "$TMP/int.out" 2>&1 &
pid=$!
# Once the command has exec'd sleep, its fork is done (a fixed wait was too
# short on a loaded host).
for ((i = 0; i < 300; i++)); do
	pgrep -P "$pid" -x sleep > /dev/null && break
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
if ((rc == 130)) && "$CS" report "$TMP/int.cst" > "$TMP/int.txt" 2>&1 &&
	grep -q "^kernel clones: [1-9]" "$TMP/int.txt"; then
	ok "SIGINT: command killed (130), recorded clones kept"
else
	not_ok "SIGINT: exit $rc" "$(cat "$TMP/int.out" "$TMP/int.txt" 2>/dev/null)"
fi

# script (issue 19): one fork whose child writes COW_CHILD pages and whose
# parent writes COW_PARENT others.  script must show the two sides apart,
# with exactly the numbers of the line record printed live; the C runtime
# adds a few copies of its own on each side (selftests/cow_test.c measures
# them: FORK_CHILD_SLACK, PARENT_SLACK).
COW_CHILD=100
COW_PARENT=50
COW_CHILD_SLACK=10
COW_PARENT_SLACK=7
"$CS" record -o "$TMP/cow.cst" -- "$COW_WORKLOAD" "$COW_CHILD" "$COW_PARENT" \
	> "$TMP/cow.live" 2> "$TMP/cow.err"
rc=$?
live="$(grep ' COW of fork ' "$TMP/cow.live")"
if ((rc == 0)) && (($(grep -c . <<< "$live") == 1)); then
	ok "record of the COW workload prints one COW line"
else
	not_ok "COW workload: exit $rc, COW lines: ${live:-none}" "$(cat "$TMP/cow.live" "$TMP/cow.err")"
fi
live_child="$(sed -nE 's/.*: child copied ([0-9]+) .*/\1/p' <<< "$live")"
live_parent="$(sed -nE 's/.*, parent copied ([0-9]+) .*/\1/p' <<< "$live")"

"$CS" script --text "$TMP/cow.cst" > "$TMP/cow.txt" 2>&1
script_line="$(grep ' COW of fork ' "$TMP/cow.txt")"
if [[ -n "$live" && "$script_line" == "$live" ]]; then
	ok "script --text prints the live COW line"
else
	not_ok "script --text COW line differs from the live one" "live:   $live
script: $script_line"
fi

"$CS" script --csv "$TMP/cow.cst" > "$TMP/cow.csv" 2>&1
# Columns by header name; a COW row has no quoted fields before them.
read -r csv_child csv_parent <<< "$(awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["type"] == "cow" { print $col["cow.child.copied"], $col["cow.parent.copied"] }' \
	"$TMP/cow.csv")"
"$CS" script "$TMP/cow.cst" > "$TMP/cow.jsonl" 2>&1
json_child="$(grep '"type":"cow"' "$TMP/cow.jsonl" |
	sed -nE 's/.*"cow":\{"child":\{"copied":([0-9]+),.*/\1/p')"
json_parent="$(grep '"type":"cow"' "$TMP/cow.jsonl" |
	sed -nE 's/.*"parent":\{"copied":([0-9]+),.*/\1/p')"
if [[ -n "$live_child" && "$csv_child" == "$live_child" && "$json_child" == "$live_child" &&
	-n "$live_parent" && "$csv_parent" == "$live_parent" && "$json_parent" == "$live_parent" ]]; then
	ok "script (JSON, CSV) shows child $live_child and parent $live_parent copied, as live"
else
	not_ok "script COW counts: live child=$live_child parent=$live_parent," \
		"csv child=$csv_child parent=$csv_parent, json child=$json_child parent=$json_parent"
fi
if ((live_child >= COW_CHILD && live_child <= COW_CHILD + COW_CHILD_SLACK &&
	live_parent >= COW_PARENT && live_parent <= COW_PARENT + COW_PARENT_SLACK)); then
	ok "COW apart: child copied $live_child (wrote $COW_CHILD), parent $live_parent (wrote $COW_PARENT)"
else
	not_ok "COW apart: child copied ${live_child:-?} (wrote $COW_CHILD)," \
		"parent ${live_parent:-?} (wrote $COW_PARENT)" "$live"
fi
# The record types the workload makes, each as an event; its fork joined
# with the user call and the call's source line.
types="$(awk -F, 'NR > 1 { n[$1]++ } END { for (t in n) print t, n[t] }' "$TMP/cow.csv" | sort)"
if grep -q '^clone [1-9]' <<< "$types" && grep -q '^child_start [1-9]' <<< "$types" &&
	grep -q '^cow 1$' <<< "$types" && grep -q '^lifecycle [1-9]' <<< "$types"; then
	ok "script: clone, child_start, cow and lifecycle events"
else
	not_ok "script event types" "$types"
fi
call="$(awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["type"] == "clone" && $col["user.kind"] == "fork" {
		print $col["user.file"] ":" $col["user.line"] }' "$TMP/cow.csv")"
if [[ "$call" == *cow.c:[1-9]* ]]; then
	ok "script: the fork joined with its call at $call"
else
	not_ok "script: fork call site '${call:-none}'" "$(grep '^clone' "$TMP/cow.csv")"
fi

out="$("$CS" stat 0.5 2 2>&1)"
if (($(grep -c . <<< "$out") == 3)); then ok "stat 0.5 2 prints a header and two lines"; else not_ok "stat" "$out"; fi

# SIGINT ends stat's interval sleep at once: the cut interval is shown, long
# before the 60 s interval would end.
"$CS" stat 60 > "$TMP/stat-int.out" 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
	grep -q "^tracing: *on" /sys/kernel/debug/clonescope/status 2> /dev/null && break
	sleep 0.1
done
start=$SECONDS
kill -INT "$pid"
wait "$pid"
rc=$?
if ((rc == 0 && SECONDS - start < 20)) && (($(grep -c . "$TMP/stat-int.out") == 2)); then
	ok "SIGINT cuts stat's 60 s interval short and shows it"
else
	not_ok "stat SIGINT: exit $rc after $((SECONDS - start)) s" "$(cat "$TMP/stat-int.out")"
fi

# top --by site: the command's clones joined to their call sites live; two
# sites of known counts (fork, vfork), summed over the intervals' rows.
"$CS" top --by site --json 0.5 -- "$WORKLOAD" 7 0 0 0 3 0 0 > "$TMP/top.json" 2> "$TMP/top.err"
rc=$?
check "top --by site exits with the command's status" test "$rc" -eq 0
for pair in site_fork:7 site_vfork:3; do
	site="${pair%%:*}" want="${pair#*:}"
	got="$(jq -s --arg s "$site (" \
		'[.[].rows[] | select(.site | startswith($s)) | .clones] | add' "$TMP/top.json" 2>&1)"
	if [[ "$got" == "$want" ]]; then
		ok "top --by site: $site $want clones"
	else
		not_ok "top --by site: $site want $want, got $got" "$(cat "$TMP/top.json" "$TMP/top.err")"
	fi
done
"$CS" top --by site 1 1 > "$TMP/nocmd.out" 2>&1
rc=$?
check "top --by site without a command exits 1" test "$rc" -eq 1
check "... saying it needs a command" grep -q "needs a command" "$TMP/nocmd.out"
"$CS" top --by site 0 -- "$WORKLOAD" > "$TMP/badiv.out" 2>&1
rc=$?
check "top --by site with interval 0 fails" test "$rc" -ne 0
check "... naming the interval" grep -q "interval" "$TMP/badiv.out"

echo "1..$n"
exit "$failed"
