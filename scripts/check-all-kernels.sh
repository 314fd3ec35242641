#!/usr/bin/env bash
# make check-all-kernels: the host unit tests once, then the guest
# selftests on every test kernel (the host's 6.1 and those of 'make
# deps-kernels', see scripts/kernels-lib.sh), each with the module built
# for it.  Each kernel's probe status and counts go to $BUILD/kernels/KVER
# for scripts/kernels-doc.sh.  One summary line per kernel, then the total
# as "N passed, N failed".  A kernel's wall time (build and guest) is kept
# with its counts.
#
# usage: scripts/check-all-kernels.sh [KVER...]   (default: every kernel)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

# The suite takes 10-15 minutes of a guest, near make check's 15 on a
# host loaded by other guests: room for that, one kernel after another.
export VM_TIMEOUT="${VM_TIMEOUT:-1800}"

# The "N passed, N failed" line of one check.sh run, as "N N".
last_counts() {
	sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$1" | tail -n 1
}

# Keeps what the docs are made of: the guest's probe status, and the
# kernel's counts with each skipped test and its reason.
keep_results() {
	local kver="$1" log="$2" passed="$3" failed="$4" seconds="$5" dir out

	dir="$BUILD/kernels/$kver"
	rm -rf "$dir"
	mkdir -p "$dir"
	out="$(sed -nE 's/^check: vm: .*output in ([^)]*)\)$/\1/p' "$log" | tail -n 1)"
	if [[ -n "$out" && -f "$out/probe-status.txt" ]]; then
		cp "$out/probe-status.txt" "$dir/"
	fi
	{
		printf 'date=%s\npassed=%s\nfailed=%s\nseconds=%s\n' \
			"$(date -u +%Y-%m-%d)" "$passed" "$failed" "$seconds"
		# The harness's "ok 12 # SKIP reason" names no test: the
		# "#  RUN  cow.hugetlb ..." line before it does.
		[[ -z "$out" ]] || awk '
			/^# +RUN +/ { name = $3 }
			/^ok [0-9]+ .*# *SKIP/ {
				reason = $0
				sub(/^.*# *SKIP */, "", reason)
				print "skip=" name ": " reason
			}' "$out"/*.tap
	} > "$dir/results"
}

main() {
	local scripts kver module log passed=0 failed=0 p f start
	local -a summary=() kernels=("$@")

	scripts="$CLONESCOPE_REPO/scripts"
	((${#kernels[@]})) || mapfile -t kernels < <(all_kernels)
	mkdir -p "$BUILD"
	log="$BUILD/check-unit-all.log"
	"$scripts/check.sh" --unit-only 2>&1 | tee "$log" || true
	read -r p f < <(last_counts "$log") || { p=0; f=1; }
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("unit: $p passed, $f failed")

	for kver in "${kernels[@]}"; do
		log="$BUILD/check-$kver.log"
		start="$SECONDS"
		if module="$("$scripts/kmod-build.sh" "$kver" 2> "$BUILD/build-$kver.log")"; then
			KVER="$kver" "$scripts/check.sh" --vm-only "$module" 2>&1 | tee "$log" || true
			read -r p f < <(last_counts "$log") || { p=0; f=1; }
		else
			note "the module does not build for $kver (see $BUILD/build-$kver.log)"
			: > "$log"
			p=0
			f=1
		fi
		keep_results "$kver" "$log" "$p" "$f" "$((SECONDS - start))"
		passed=$((passed + p))
		failed=$((failed + f))
		summary+=("$kver: $p passed, $f failed")
	done

	printf '%s\n' "${summary[@]}"
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main "$@"
