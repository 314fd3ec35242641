/* The shim's allocation-free dlsym(RTLD_NEXT, name): resolve.c. */
#ifndef CLONESCOPE_RESOLVE_H
#define CLONESCOPE_RESOLVE_H

/* The next definition of function @name after the shim in load order, or
 * NULL.  Safe before the shim's constructor and inside an allocator's
 * initialisation. */
__attribute__((visibility("hidden"))) void *cs_resolve_next(const char *name);

#endif
