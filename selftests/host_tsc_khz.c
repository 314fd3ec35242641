// SPDX-License-Identifier: GPL-2.0
/*
 * Prints this machine's TSC rate in kHz, measured against
 * CLOCK_MONOTONIC_RAW.  QEMU guests (TCG and KVM) see the host's TSC rate;
 * check-debug's kernel has no ACPI, hence no HPET or PM timer to calibrate
 * its TSC against, and calibration against the PIT fails under TCG, which
 * leaves it on the jiffies clock (4 ms steps).  It gets the rate from
 * here instead: tsc_early_khz= on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

#define TSC_BRACKETS	2000
#define TSC_INTERVAL_NS	200000000L

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A TSC read between two clock reads, the pair closest together of many:
 * a preemption between them (a loaded host) only makes a pair wider.
 */
static void tsc_at(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	int i;

	for (i = 0; i < TSC_BRACKETS; i++) {
		uint64_t before = now_ns(), t = __rdtsc(), after = now_ns();

		if (after - before < best) {
			best = after - before;
			*ns = before + best / 2;
			*tsc = t;
		}
	}
}

int main(void)
{
	const struct timespec interval = { 0, TSC_INTERVAL_NS };
	uint64_t ns0, tsc0, ns1, tsc1;

	tsc_at(&ns0, &tsc0);
	nanosleep(&interval, NULL);
	tsc_at(&ns1, &tsc1);
	if (ns1 <= ns0 || tsc1 <= tsc0)
		return 1;
	printf("%llu\n", (unsigned long long)((tsc1 - tsc0) * 1000000ULL / (ns1 - ns0)));
	return 0;
}
