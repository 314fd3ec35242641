#!/usr/bin/env bash
# The realprog suite: `clonescope record` on real programs from Debian
# packages, in the test guest with the module loaded (TAP on stdout, exit
# status 1 if anything failed).
#
# Each program runs once untraced and once under `clonescope record`; one
# TAP line per program says whether
#   - its exit status and output are unchanged,
#   - no record was lost,
#   - every user call the shim made matched its kernel record, and every
#     kernel clone was claimed by a user call, except in processes where
#     the shim cannot run (static, setuid, emptied environment), whose
#     clones are reported as "no user call" with that reason,
#   - plus what the case is about (Redis's fork at its call site, ...).
# The last line, "# summary: ...", names every program with its result.
#
# usage: realprog.sh [TOOL_BUILD_DIR [SELFTESTS_BUILD_DIR [TEST...]]]
#        (default $BUILD/tool and $BUILD/selftests, every test); the
#        traces and reports are kept in $CLONESCOPE_OUT/realprog if set.

# The test functions run through "test_$name"; $ in single quotes is for
# the programs under test.
# shellcheck disable=SC2317,SC2016
set -uo pipefail

TOOL_DIR="${1:-${BUILD:?}/tool}"
SELFTESTS_DIR="${2:-$BUILD/selftests}"
CS="$TOOL_DIR/clonescope"
SHIM="$TOOL_DIR/libclonescope-preload.so"
FORKER="$SELFTESTS_DIR/realprog/forker"
FORKER_STATIC="$SELFTESTS_DIR/realprog/forker-static"
LIBDIR=/usr/lib/x86_64-linux-gnu
JEMALLOC="$LIBDIR/libjemalloc.so.2"
TCMALLOC="$LIBDIR/libtcmalloc_minimal.so.4"
PYTHON=/usr/bin/python3
REDIS_PORT=6399
TMP="$(mktemp -d)"
# shellcheck disable=SC2064 # expanded now, on purpose
trap "${CLONESCOPE_OUT:+mkdir -p $CLONESCOPE_OUT/realprog; cp -r $TMP/. $CLONESCOPE_OUT/realprog/;} rm -rf $TMP" EXIT
# Programs started by the tests see a fixed, small environment.
export PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C
unset LD_PRELOAD CLONESCOPE_USER_TRACE

n=0
failed=0
summary=()

# result NAME OK DETAIL [DIAGNOSTICS]: one TAP line for program NAME.
result() {
	local name="$1" ok="$2" detail="$3" diag="${4:-}"

	n=$((n + 1))
	if ((ok)); then
		echo "ok $n $name: $detail"
		summary+=("$name ok")
	else
		failed=1
		echo "not ok $n $name: $detail"
		[[ -n "$diag" ]] && printf '# %s\n' "${diag//$'\n'/$'\n'# }"
		summary+=("$name FAILED")
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
	summary+=("$1 skipped")
}

# report_get FILE.json EXPR...: each EXPR over the report JSON (r, and c
# its correlation counts), one line each; one python start for all.
report_get() {
	"$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["correlation"]
def sites(kind):
    return [g["key"] for g in r["by_site"] if kind in g["kinds"]]
def no_user_call(reason):
    return sum(g["count"] for g in r["by_site"]
               if g["key"].startswith("[no user call: " + reason))
for e in sys.argv[2:]:
    print(eval(e))' "$@"
}

# record_case NAME NO_SHIM EXTRA -- COMMAND...
#   Runs COMMAND untraced, then under clonescope record, and checks the
#   common conditions.  NO_SHIM: kernel clones expected in processes the
#   shim cannot run in ("no shim in the process"); all others must match
#   a user call.  EXTRA: a python expression over the report that must
#   hold too (1 for none).  Leaves $TMP/NAME.json for the caller.
record_case() {
	local name="$1" no_shim="$2" extra="$3" plain_rc rec_rc why="" v
	local out="$TMP/$name"

	shift 4
	"$@" > "$out.plain" 2> "$out.plain.err" < /dev/null
	plain_rc=$?
	"$CS" record -q -o "$out.cst" -- "$@" > "$out.rec" 2> "$out.rec.err" < /dev/null
	rec_rc=$?
	if ! "$CS" report --json "$out.cst" > "$out.json" 2> "$out.report.err"; then
		result "$name" 0 "report failed" "$(cat "$out.rec.err" "$out.report.err")"
		return
	fi
	mapfile -t v <<< "$(report_get "$out.json" 'c["user_calls"]' 'c["user_matched"]' \
		'c["kernel_clones"]' 'c["kernel_matched"]' 'c["lost"]' "no_user_call('no shim')" \
		"bool($extra)")"
	# Unreadable figures fail every comparison below, never the script.
	local calls="${v[0]:-x}" matched="${v[1]:-y}" clones="${v[2]:-0}" claimed="${v[3]:--1}"
	local lost="${v[4]:-?}" without_shim="${v[5]:-?}" extra_ok="${v[6]:-?}"
	((plain_rc == rec_rc)) || why+=" exit $rec_rc, untraced $plain_rc;"
	cmp -s "$out.plain" "$out.rec" || why+=" output differs;"
	[[ "$lost" == 0 ]] || why+=" $lost records lost;"
	[[ "$matched" == "$calls" ]] || why+=" $matched of $calls user calls matched;"
	[[ "$((clones - claimed))" == "$no_shim" ]] ||
		why+=" $((clones - claimed)) clones without a user call, want $no_shim;"
	[[ "$without_shim" == "$no_shim" ]] ||
		why+=" 'no shim' clones: $without_shim, want $no_shim;"
	[[ "$extra_ok" == True ]] || why+=" failed: $extra;"
	result "$name" "$([[ -z "$why" ]] && echo 1 || echo 0)" \
		"exit $rec_rc, $calls user calls = $claimed of $clones kernel clones, $no_shim without the shim, $lost lost${why:+ —$why}" \
		"$(head -c 3000 "$out.rec.err"; diff "$out.plain" "$out.rec" | head -20)"
}

# ---- programs -------------------------------------------------------------

# Forks, a thread and a subprocess from Python: the common interpreter case,
# also run with an allocator preloaded before or after the shim.
PY_SCRIPT='
import os, subprocess, threading
out = subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip()
pid = os.fork()
if pid == 0:
    os._exit(3)
_, status = os.waitpid(pid, 0)
t = threading.Thread(target=lambda: None)
t.start(); t.join()
print("python:", out, os.waitstatus_to_exitcode(status))
'

test_python() {
	record_case python3 0 'len(sites("fork")) == 1 and "thread" in [g["key"] for g in r["by_kind"]]' \
		-- "$PYTHON" -c "$PY_SCRIPT"
}

# The allocator first in LD_PRELOAD (record appends the shim to what it
# finds), or after the shim (env puts both in the order given).
test_allocators() {
	local lib name

	for lib in "$JEMALLOC" "$TCMALLOC"; do
		name="$(basename "$lib" | sed 's/^lib//; s/\.so.*//')"
		if [[ ! -f "$lib" ]]; then
			skip "$name" "$lib not installed (make deps)"
			continue
		fi
		LD_PRELOAD="$lib" record_case "$name before the shim" 0 'c["user_calls"] >= 3' \
			-- "$PYTHON" -c "$PY_SCRIPT"
		record_case "$name after the shim" 0 'c["user_calls"] >= 3' \
			-- env LD_PRELOAD="$SHIM $lib" "$PYTHON" -c "$PY_SCRIPT"
	done
}

test_bash() {
	record_case bash 0 'c["user_calls"] >= 4' \
		-- bash -c 'x=$(echo sub); echo "$x" | tr a-z A-Z; (exit 3); echo "bash: $?"'
}

test_perl() {
	record_case perl 0 'c["user_calls"] >= 3' \
		-- perl -e 'my $p = fork; exit 0 if !$p; waitpid($p, 0);
			    my $o = `echo qx`; chomp $o; system("true");
			    print "perl: $o ", $? >> 8, "\n"'
}

test_make() {
	mkdir -p "$TMP/make"
	printf 'all: a b c d\n\techo done\na b c d:\n\t@echo $@ > /dev/null\n' > "$TMP/make/Makefile"
	record_case "make -j2" 0 'c["user_calls"] >= 5' -- make -s -j2 -C "$TMP/make"
}

# gcc runs cc1, as and collect2/ld through posix_spawn or vfork.
test_gcc() {
	printf 'int main(void) { return 0; }\n' > "$TMP/hello.c"
	record_case gcc 0 'c["user_calls"] >= 3' -- gcc -O0 -o "$TMP/hello" "$TMP/hello.c"
}

test_node() {
	if ! command -v node > /dev/null; then
		skip node "not installed"
		return
	fi
	record_case node 0 'c["user_calls"] >= 2' \
		-- node -e 'const r = require("child_process").spawnSync("true");
			    console.log("node:", r.status)'
}

# Kernel records only: the shim cannot load into a static program.
test_static() {
	record_case "static program" 3 'c["user_calls"] == 0' -- "$FORKER_STATIC" 3
}

# A setuid program run by root as another user: the loader runs it in
# secure mode and ignores LD_PRELOAD.
test_setuid() {
	local bin=/tmp/forker-setuid

	if ! { cp "$FORKER" "$bin" && chown nobody "$bin" && chmod 4755 "$bin"; }; then
		result "setuid program" 0 "cannot make $bin setuid"
		return
	fi
	record_case "setuid program" 3 'c["user_calls"] == 0' -- "$bin" 3
}

# sh (with the shim) forks a child that execs env -i, which empties the
# environment, LD_PRELOAD included, before it execs the forker.
test_cleared_env() {
	record_case "emptied environment" 2 'c["user_calls"] >= 1' \
		-- sh -c "env -i $FORKER 2; echo sh: \$?"
}

# ---- Redis ------------------------------------------------------------------

redis_cli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

# The client side of one Redis session (prints its transcript): wait for
# the server, populate 100000 keys, BGSAVE while a client writes, wait for
# the save, shut down.  The server runs in the foreground of the caller.
redis_client() {
	local i bench

	for ((i = 0; i < 300; i++)); do
		redis_cli ping 2> /dev/null | grep -q PONG && break
		sleep 0.1
	done
	redis_cli debug populate 100000 key 64
	redis-benchmark -p "$REDIS_PORT" -q -t set -r 100000 -n 20000 -P 16 > /dev/null 2>&1 &
	bench=$!
	sleep 0.2
	redis_cli bgsave
	for ((i = 0; i < 600; i++)); do
		redis_cli info persistence | grep -q '^rdb_bgsave_in_progress:0' && break
		sleep 0.1
	done
	redis_cli info persistence | grep -o '^rdb_last_bgsave_status:[a-z]*'
	wait "$bench"
	redis_cli info stats | grep -o '^total_forks:[0-9]*'
	redis_cli shutdown nosave 2>&1
}

# The server, in the foreground, with the client in the background.
redis_session() {
	local client_out="$1" rc

	shift
	redis_client > "$client_out" 2>&1 &
	"$@" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$TMP/redis" --enable-debug-command yes --daemonize no \
		--logfile "$TMP/redis/server.log"
	rc=$?
	wait
	return "$rc"
}

test_redis() {
	local why="" v

	if ! command -v redis-server > /dev/null; then
		skip redis-server "not installed (make deps)"
		return
	fi
	ip link set lo up
	mkdir -p "$TMP/redis"
	# The session under record and untraced: same transcript, same status.
	redis_session "$TMP/redis.plain" 2> /dev/null
	local plain_rc=$?
	redis_session "$TMP/redis.rec" "$CS" record -q -o "$TMP/redis.cst" -- 2> "$TMP/redis.err"
	local rec_rc=$?
	"$CS" report --json "$TMP/redis.cst" > "$TMP/redis.json" 2>> "$TMP/redis.err"
	# jemalloc (Redis's allocator, with jemalloc-bg-thread yes by default)
	# starts its background threads through a pthread_create pointer it
	# took with dlsym(RTLD_NEXT): those, and only those, bypass the shim.
	mapfile -t v <<< "$(report_get "$TMP/redis.json" 'c["user_calls"]' 'c["user_matched"]' \
		'c["kernel_clones"]' 'c["kernel_matched"]' 'c["lost"]' 'c["cow_records"]' \
		'"; ".join(sites("fork"))' "no_user_call('shim bypassed')" \
		'sorted({k for g in r["by_site"] if g["key"].startswith("[no user call") for k in g["kinds"]})')"
	local calls="${v[0]:-0}" matched="${v[1]:-0}" clones="${v[2]:-0}" claimed="${v[3]:-0}"
	local lost="${v[4]:-?}" cows="${v[5]:-0}" fork_sites="${v[6]:-}" bypassed="${v[7]:-0}"
	local bypassed_kinds="${v[8]:-}"
	((rec_rc == 0 && plain_rc == 0)) || why+=" exit $rec_rc, untraced $plain_rc;"
	cmp -s "$TMP/redis.plain" "$TMP/redis.rec" || why+=" client transcript differs;"
	grep -q '^rdb_last_bgsave_status:ok' "$TMP/redis.rec" || why+=" BGSAVE did not succeed;"
	[[ "$lost" == 0 ]] || why+=" $lost lost;"
	((calls > 0 && matched == calls && claimed + bypassed == clones && bypassed >= 1)) ||
		why+=" $matched of $calls user calls, $claimed of $clones clones matched, $bypassed bypassed;"
	[[ "$bypassed_kinds" == "['thread']" ]] || why+=" clones without a user call: $bypassed_kinds;"
	[[ "$fork_sites" == *redisFork* ]] || why+=" fork not at redisFork: '$fork_sites';"
	((cows >= 1)) || why+=" no COW record for the BGSAVE fork;"
	result redis-server "$([[ -z "$why" ]] && echo 1 || echo 0)" \
		"exit $rec_rc, $calls user calls = $claimed of $clones kernel clones (+$bypassed jemalloc background threads bypassing the shim), $lost lost, BGSAVE fork at ${fork_sites:-?}${why:+ —$why}" \
		"$(cat "$TMP/redis.err"; diff "$TMP/redis.plain" "$TMP/redis.rec"; tail -5 "$TMP/redis/server.log")"
}

TESTS=(redis python allocators bash perl make gcc node static setuid cleared_env)
(($# > 2)) && TESTS=("${@:3}")
echo "TAP version 13"
for t in "${TESTS[@]}"; do
	"test_$t"
done
echo "1..$n"
(IFS=,; echo "# summary: ${summary[*]}" | sed 's/,/, /g')
exit "$failed"
