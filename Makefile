# clonescope: top-level build.  `make help` lists the targets.

# The kernel to build for: see scripts/default-kver.sh.
KVER ?= $(shell $(CURDIR)/scripts/default-kver.sh)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
ACCEL ?= tcg

export KVER KDIR BUILD ACCEL

.PHONY: all module tool selftests deps deps-bench deps-kernels check unit-check vm-check \
	build-all-kernels check-all-kernels kernels-doc check-debug fuzz demo bench bench-decode cases clean help

all: module tool selftests

module:
	@test -d "$(KDIR)" || { echo "error: no kernel build tree at $(KDIR)" \
		"(install linux-headers-$(KVER), or run 'make deps')" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module modules

tool:
	cmake -S tool -B $(BUILD)/tool -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/tool -j$$(nproc)

selftests:
	$(MAKE) -C selftests

deps:
	scripts/deps.sh

# What make bench and make cases add: bpftrace, forkstat, perf, python3.
deps-bench:
	scripts/deps.sh bench

# The test kernels besides the host's 6.1 (5.10, 6.12, 6.12-rt, 7.2, 7.3-rc):
# per-suite chroots under /var/cache/clonescope/kernels, see
# scripts/kernels-lib.sh.
deps-kernels:
	scripts/deps-kernels.sh

# The module compiled against every test kernel, any warning an error.
build-all-kernels:
	scripts/build-all-kernels.sh

# Host unit tests, then the guest selftests; ends with "N passed, N failed".
check: all
	scripts/check.sh

unit-check: tool
	scripts/check.sh --unit-only

vm-check: module selftests
	scripts/check.sh --vm-only

# The guest selftests on every test kernel, one summary per kernel and a
# total; then Documentation/kernels.rst from what the guests reported.
check-all-kernels: tool selftests
	scripts/check-all-kernels.sh; rc=$$?; scripts/kernels-doc.sh; exit $$rc

kernels-doc:
	scripts/kernels-doc.sh

# The guest suite and the device fuzzer on a KASAN + lockdep kernel, built
# from linux-source-6.1 once per machine (scripts/build-debug-kernel.sh).
check-debug: tool selftests
	scripts/check-debug.sh

# libFuzzer (clang) on the trace and user-record parsers, >= 10^6 runs each.
fuzz:
	scripts/fuzz.sh

demo: deps all
	scripts/demo.sh

# Not tests: overhead against bpftrace/forkstat (bench/results.md), and the
# case studies (Documentation/case-studies.rst), each from one guest run.
# Measured under -icount unless ACCEL is given (ACCEL=tcg: results-tcg.md).
bench: deps-bench module tool
	ACCEL=$(if $(filter file,$(origin ACCEL)),icount,$(ACCEL)) bench/run.sh

# The decode throughput alone, on the host (no guest): bench/decode-results.md.
bench-decode: tool
	bench/decode.sh

cases: deps-bench module tool
	bench/cases/run.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/module clean
	-$(MAKE) -C selftests clean
	rm -rf $(BUILD)

help:
	@echo "make deps     install everything needed (Debian 12, root)"
	@echo "make          build module (KVER=$(KVER)), tool and selftests"
	@echo "make demo     boot a VM, trace a real workload, print the report"
	@echo "make check    host unit tests + selftests in a VM"
	@echo "make check-debug  selftests + device fuzzer on a KASAN/lockdep kernel (long)"
	@echo "make fuzz     libFuzzer on the trace and user-record parsers"
	@echo "make bench    overhead benchmark -> bench/results.md"
	@echo "make bench-decode  the tool's decode throughput -> bench/decode-results.md"
	@echo "make cases    case studies -> Documentation/case-studies.rst"
	@echo "make deps-kernels    fetch the other test kernels (5.10 6.12 6.12-rt 7.2 7.3-rc)"
	@echo "make build-all-kernels  compile the module for every test kernel"
	@echo "make check-all-kernels  selftests on every test kernel -> Documentation/kernels.rst"
	@echo "KVER=, KDIR=  kernel to build for; ACCEL=kvm to try KVM (default tcg; bench: icount)"
