#!/usr/bin/env bash
# Prints the kernel release to build for: the running kernel when its
# headers are installed (a real dev box), else the one Debian's
# linux-headers-amd64 depends on (Debian 12's kernel, which the test VM
# boots), else the newest installed headers.
set -euo pipefail

if [[ -d "/lib/modules/$(uname -r)/build" ]]; then
	uname -r
	exit 0
fi
depends=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)
if [[ "$depends" =~ linux-headers-([^ ,]+) && -d "/lib/modules/${BASH_REMATCH[1]}/build" ]]; then
	echo "${BASH_REMATCH[1]}"
	exit 0
fi
find /lib/modules -mindepth 2 -maxdepth 2 -name build -printf '%h\n' 2>/dev/null |
	xargs -r -n1 basename | sort -V | tail -n 1
