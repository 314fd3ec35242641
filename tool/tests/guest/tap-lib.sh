# shellcheck shell=bash
# TAP helpers of the tool's guest tests (sourced).  The caller prints the
# "TAP version 13" line, then "1..$n" at the end and exits "$failed".

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

# not_ok DESCRIPTION [DIAGNOSTICS]: diagnostics are printed as # lines.
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n $1"
	[[ -n "${2:-}" ]] && sed 's/^/# /' <<< "$2"
}

# check DESCRIPTION COMMAND [ARGS...]
check() {
	local what="$1"

	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
