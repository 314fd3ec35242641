// SPDX-License-Identifier: GPL-2.0
/*
 * The program the vfork-exec and spawn workloads run, linked statically
 * and copied into the guest's tmpfs: an exec of it reads no file over the
 * guest's uncached 9p root, whose I/O waits would otherwise be most of an
 * iteration and vary from batch to batch.
 */
int main(void)
{
	return 0;
}
