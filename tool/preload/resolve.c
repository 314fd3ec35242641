/*
 * Finding the real functions behind the shim's wrappers without dlsym.
 *
 * dlsym(RTLD_NEXT, ...) is what interposers usually call, but it may
 * allocate (glibc's dlerror state, the lookup scope), and the allocator
 * may be jemalloc or tcmalloc in the middle of its own initialisation,
 * which in turn calls pthread_create or syscall: a wrapper that needs dlsym
 * to forward such a call recurses into the loader or, if it was called
 * before the shim's constructor, jumps through a NULL pointer.  This file
 * does the RTLD_NEXT lookup itself: walk the loaded objects with
 * dl_iterate_phdr (no allocation; the loader's lock is recursive), skip up
 * to and including the shim, and look the name up in each later object's
 * GNU hash table, taking the default version of a versioned symbol (the
 * one dlsym would return, e.g. pthread_create@@GLIBC_2.34).
 *
 * Only objects with DT_GNU_HASH are searched: every object Debian ships
 * has one.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "resolve.h"

struct lookup {
	const char *name;
	uint32_t hash;
	int past_self;		/* the shim has been seen: search from here */
	void *found;
};

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* The loader relocates most d_ptr values in place; the vDSO's are not.
 * Real addresses of an object lie above its load bias. */
static uintptr_t dyn_addr(const struct dl_phdr_info *info, ElfW(Addr) ptr)
{
	return ptr < info->dlpi_addr ? info->dlpi_addr + ptr : ptr;
}

static int is_self(const struct dl_phdr_info *info)
{
	uintptr_t here = (uintptr_t)&cs_resolve_next;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && here >= lo && here < lo + ph->p_memsz)
			return 1;
	}
	return 0;
}

static void *lookup_in(const struct dl_phdr_info *info, const struct lookup *l)
{
	const ElfW(Dyn) *dyn = NULL;
	const uint32_t *gh = NULL;
	const ElfW(Sym) *symtab = NULL;
	const ElfW(Half) *versym = NULL;
	const char *strtab = NULL;
	const uint32_t *buckets, *chain;
	uint32_t nbuckets, symoffset, i;
	int p;

	for (p = 0; p < info->dlpi_phnum; p++)
		if (info->dlpi_phdr[p].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[p].p_vaddr);
	if (!dyn)
		return NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_GNU_HASH:
			gh = (const uint32_t *)dyn_addr(info, dyn->d_un.d_ptr);
			break;
		case DT_SYMTAB:
			symtab = (const ElfW(Sym) *)dyn_addr(info, dyn->d_un.d_ptr);
			break;
		case DT_STRTAB:
			strtab = (const char *)dyn_addr(info, dyn->d_un.d_ptr);
			break;
		case DT_VERSYM:
			versym = (const ElfW(Half) *)dyn_addr(info, dyn->d_un.d_ptr);
			break;
		}
	}
	if (!gh || !symtab || !strtab)
		return NULL;
	nbuckets = gh[0];
	symoffset = gh[1];
	if (!nbuckets)
		return NULL;
	/* gh[2] bloom words of ElfW(Addr), then the buckets, then the chain */
	buckets = (const uint32_t *)((const ElfW(Addr) *)(gh + 4) + gh[2]);
	chain = buckets + nbuckets;
	for (i = buckets[l->hash % nbuckets]; i >= symoffset; i++) {
		const ElfW(Sym) *s = &symtab[i];
		uint32_t h = chain[i - symoffset];
		int type = ELF64_ST_TYPE(s->st_info);

		if ((h | 1) == (l->hash | 1) && !strcmp(strtab + s->st_name, l->name) &&
		    s->st_shndx != SHN_UNDEF && (type == STT_FUNC || type == STT_GNU_IFUNC) &&
		    (!versym || ((versym[i] & 0x7fff) >= 1 && !(versym[i] & 0x8000)))) {
			void *addr = (void *)(info->dlpi_addr + s->st_value);

			if (type == STT_GNU_IFUNC)
				addr = ((void *(*)(void))addr)();
			return addr;
		}
		if (h & 1)
			break;
	}
	return NULL;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct lookup *l = data;

	(void)size;
	if (!l->past_self) {
		l->past_self = is_self(info);
		return 0;
	}
	l->found = lookup_in(info, l);
	return l->found != NULL;
}

void *cs_resolve_next(const char *name)
{
	struct lookup l = {.name = name, .hash = gnu_hash(name)};

	dl_iterate_phdr(visit, &l);
	return l.found;
}
