#!/usr/bin/env bash
# End-to-end test of the clonescope tool, run in the test guest with the
# module loaded (TAP on stdout, exit status 1 if anything failed).
#
# The workload (tests/workload/callsites.c) creates tasks from known call
# sites a known number of times; the report must name each site with
# exactly that count, and every user call must have matched its kernel
# record.
#
# usage: tool_test.sh [TOOL_BUILD_DIR]   (default $BUILD/tool)
set -uo pipefail

TOOL_DIR="${1:-${BUILD:?}/tool}"
CS="$TOOL_DIR/clonescope"
WORKLOAD="$TOOL_DIR/tests/clonescope_callsites"
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
sleep 3
kill -INT "$pid"
wait "$pid"
rc=$?
if ((rc == 130)) && "$CS" report "$TMP/int.cst" > "$TMP/int.txt" 2>&1 &&
	grep -q "^kernel clones: [1-9]" "$TMP/int.txt"; then
	ok "SIGINT: command killed (130), recorded clones kept"
else
	not_ok "SIGINT: exit $rc" "$(cat "$TMP/int.out" "$TMP/int.txt" 2>/dev/null)"
fi

out="$("$CS" stat 0.5 2 2>&1)"
if (($(grep -c . <<< "$out") == 3)); then ok "stat 0.5 2 prints a header and two lines"; else not_ok "stat" "$out"; fi

echo "1..$n"
exit "$failed"
