/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lock-free tables of non-zero keys (task or mm pointers, compared only):
 * open addressing where a key lives within CS_KEY_PROBES places of its
 * hash, so every lookup is bounded.  A key is claimed with cmpxchg and
 * released by whoever owns it, so probe handlers never take a lock.
 */
#ifndef CLONESCOPE_KEYTAB_H
#define CLONESCOPE_KEYTAB_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/hash.h>
#include <linux/kprobes.h>

#define CS_KEY_PROBES	16

static nokprobe_inline long cs_key_find(const unsigned long *keys,
					unsigned int bits, unsigned long key)
{
	unsigned int h = hash_long(key, bits), i;

	for (i = 0; i < CS_KEY_PROBES; i++) {
		unsigned int idx = (h + i) & ((1U << bits) - 1);

		if (READ_ONCE(keys[idx]) == key)
			return idx;
	}
	return -1;
}

/* The element of @values at @key's index in @keys (of 2^@bits), or NULL. */
#define cs_key_value(keys, bits, values, key) ({			\
	long __idx = cs_key_find(keys, bits, (unsigned long)(key));	\
	__idx < 0 ? NULL : &(values)[__idx];				\
})

/* Returns the index claimed for @key, or -1 when its places are taken. */
static nokprobe_inline long cs_key_claim(unsigned long *keys,
					 unsigned int bits, unsigned long key)
{
	unsigned int h = hash_long(key, bits), i;

	for (i = 0; i < CS_KEY_PROBES; i++) {
		unsigned int idx = (h + i) & ((1U << bits) - 1);

		if (!READ_ONCE(keys[idx]) && !cmpxchg(&keys[idx], 0, key))
			return idx;
	}
	return -1;
}

/*
 * The index of @key if it is found in its places before a free one (left
 * there by an owner that missed its release), else one claimed for it;
 * -1 when its places are taken.  Stops at the first free place where
 * cs_key_find() then cs_key_claim() would look at all CS_KEY_PROBES
 * places of an absent key first.
 */
static nokprobe_inline long cs_key_find_or_claim(unsigned long *keys,
						 unsigned int bits,
						 unsigned long key)
{
	unsigned int h = hash_long(key, bits), i;

	for (i = 0; i < CS_KEY_PROBES; i++) {
		unsigned int idx = (h + i) & ((1U << bits) - 1);
		unsigned long k = READ_ONCE(keys[idx]);

		if (k == key || (!k && !cmpxchg(&keys[idx], 0, key)))
			return idx;
	}
	return -1;
}

static nokprobe_inline void cs_key_release(unsigned long *keys, long idx)
{
	/* The owner is done with the slot before another task can claim it. */
	smp_store_release(&keys[idx], 0);
}

#endif
