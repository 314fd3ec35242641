# shellcheck shell=bash
# Sourced by the bench's guest scripts with their arguments
# (source bench/guest-settings.sh "$@"): each KEY=VALUE becomes the shell
# variable KEY, over the script's default.
for kv in "$@"; do
	[[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "bad setting: $kv" >&2; exit 2; }
	declare "$kv"
done
