/*
 * libclonescope-preload.so: user-side half of clonescope.
 *
 * Interposes the libc calls that create tasks (fork, vfork, _Fork, clone,
 * posix_spawn, posix_spawnp, pthread_create, system, popen, daemon, and
 * clone3 reached through syscall(2), which has no glibc wrapper) and
 * appends one record per call to a per-process file in
 * $CLONESCOPE_USER_TRACE (format: user_trace.h): entry and return time
 * (CLOCK_MONOTONIC), the calling thread, the result, errno and the call
 * site.  `clonescope record` sets the variable and LD_PRELOAD, then joins
 * these records with the kernel's.
 *
 * Safety rules this file keeps:
 * - Every wrapper works before, during and after the shim's constructor
 *   (allocators initialise first and may call what the shim interposes):
 *   the real functions are resolved on first use without dlsym
 *   (resolve.c), syscall(2) forwards every number but clone3 without any
 *   function pointer (syscall.S), and the environment is read on the
 *   first call if that comes before the constructor.  Nothing the shim
 *   calls itself is interposed by it, so it never recurses.
 * - In a child of fork/_Fork the wrappers return at once: nothing but the
 *   libc call itself runs there.  A child that later calls a wrapper (a
 *   legal program may only do that after exec, or if the parent was
 *   single-threaded) gets its own file, opened with open(2) and filled with
 *   write(2) from static memory.
 * - Writing a record uses only clock_gettime, getpid, gettid, getppid,
 *   open, write and close (all async-signal-safe) and static or stack memory: no
 *   malloc, no stdio.
 * - vfork is an assembly trampoline (vfork.S): its child touches nothing.
 * - errno is preserved across everything the shim adds.
 * - Each image writes its file header at start-up, whether it calls
 *   anything or not, so the report can tell "no shim in this process".
 * - dl_iterate_phdr (for call-site mappings) only runs at load time and in
 *   the parent after a call returned, never in a fork child's wrapper path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "resolve.h"
#include "user_trace.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define MAX_MAPS 256
#define MAX_PATH 256

/* ---- state ------------------------------------------------------------ */

static char g_dir[PATH_MAX];	/* empty: shim inactive */
static char g_exe[MAX_PATH];
static char g_comm[16];		/* at start-up (PR_GET_NAME) */
static int g_fd = -1;		/* this process's trace file */
static pid_t g_fd_pid;		/* the pid g_fd belongs to */
static int g_lock;		/* guards opening g_fd; taken only in rare races */

/* Loaded objects, kept so that a child's file can list them without
 * calling dl_iterate_phdr. */
static struct map_entry {
	uint64_t start, end, base;
	uint32_t path_len;
	char path[MAX_PATH];
} g_maps[MAX_MAPS];
static int g_nr_maps;
static int g_maps_lock;

/* vfork's entry, noted before the syscall (see vfork.S). */
static __thread __attribute__((tls_model("initial-exec"))) uint64_t t_vfork_entry;
static __thread __attribute__((tls_model("initial-exec"))) uint64_t t_vfork_site;
static __thread __attribute__((tls_model("initial-exec"))) pid_t t_vfork_tid;

/*
 * The real functions, found on first use by cs_resolve_next (resolve.c),
 * never by dlsym: a wrapper may run before the shim's constructor, or
 * inside an allocator's initialisation that dlsym itself set off.
 */
static void *real_fork, *real__Fork, *real_clone, *real_posix_spawn, *real_posix_spawnp,
	*real_pthread_create, *real_system, *real_popen, *real_daemon;

static void *resolve_once(void **slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!fn) {
		fn = cs_resolve_next(name);
		__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

/* The next @name after the shim, typed like the wrapper; NULL only if no
 * later object defines it (then the wrapper fails with ENOSYS). */
#define REAL(name) ((typeof(&name))resolve_once(&real_##name, #name))

/* clone3 through syscall(2): syscall.S forwards every other number. */
HIDDEN long cs_raw_syscall(long number, ...);

/* ---- async-signal-safe helpers ---------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void spin_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a full disk must not break the traced program */
		p += n;
		len -= (size_t)n;
	}
}

/* Appends the decimal form of @v to @p; returns the new end. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[21];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void write_map(int fd, const struct map_entry *m)
{
	char buf[sizeof(struct cs_user_map) + MAX_PATH + 8];
	struct cs_user_map rec;
	uint32_t size = (uint32_t)(sizeof(rec) + m->path_len + 7) & ~7u;

	memset(buf, 0, sizeof(buf));
	memset(&rec, 0, sizeof(rec));
	rec.hdr.type = CS_USER_RECORD_MAP;
	rec.hdr.size = (uint16_t)size;
	rec.hdr.tid = (uint32_t)gettid();
	rec.start = m->start;
	rec.end = m->end;
	rec.base = m->base;
	rec.path_len = m->path_len;
	memcpy(buf, &rec, sizeof(rec));
	memcpy(buf + sizeof(rec), m->path, m->path_len);
	write_all(fd, buf, size);
}

/* Opens this process's file: header, then the known mappings. */
static int open_trace_file(pid_t pid)
{
	char path[PATH_MAX + 64];
	struct cs_user_file_header h;
	uint64_t start = now_ns();
	size_t dir_len = strlen(g_dir);
	char *p;
	int fd, i;

	if (dir_len + 64 > sizeof(path))
		return -1;
	memcpy(path, g_dir, dir_len);
	p = path + dir_len;
	*p++ = '/';
	p = put_u64(p, (uint64_t)pid);
	*p++ = '-';
	p = put_u64(p, start);
	memcpy(p, CS_USER_FILE_SUFFIX, sizeof(CS_USER_FILE_SUFFIX));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CS_USER_MAGIC, sizeof(h.magic));
	h.version = CS_USER_VERSION;
	h.header_size = sizeof(h);
	h.pid = (uint32_t)pid;
	h.ppid = (uint32_t)getppid();
	h.start_ns = start;
	memcpy(h.exe, g_exe, sizeof(h.exe));
	memcpy(h.comm, g_comm, sizeof(h.comm));
	write_all(fd, &h, sizeof(h));
	spin_lock(&g_maps_lock);
	for (i = 0; i < g_nr_maps; i++)
		write_map(fd, &g_maps[i]);
	spin_unlock(&g_maps_lock);
	return fd;
}

/* The fd of the calling process's file, opening it on first use; a child
 * of fork inherited its parent's fd and must not write there. */
static int trace_fd(void)
{
	pid_t pid = getpid();
	int fd;

	if (__atomic_load_n(&g_fd_pid, __ATOMIC_ACQUIRE) == pid)
		return g_fd;
	spin_lock(&g_lock);
	if (g_fd_pid != pid) {
		if (g_fd >= 0)
			close(g_fd);
		g_fd = open_trace_file(pid);
		__atomic_store_n(&g_fd_pid, pid, __ATOMIC_RELEASE);
	}
	fd = g_fd;
	spin_unlock(&g_lock);
	return fd;
}

static void record_call(uint32_t kind, pid_t tid, uint64_t entry, int64_t ret, int err,
			uint64_t site, int64_t child)
{
	struct cs_user_call c;
	int fd;

	if (!g_dir[0])
		return;
	fd = trace_fd();
	if (fd < 0)
		return;
	memset(&c, 0, sizeof(c));
	c.return_ns = now_ns();
	c.hdr.type = CS_USER_RECORD_CALL;
	c.hdr.size = sizeof(c);
	c.hdr.tid = (uint32_t)tid;
	c.kind = kind;
	c.err = err;
	c.ret = ret;
	c.entry_ns = entry;
	c.call_site = site;
	c.child = child;
	write_all(fd, &c, sizeof(c));
}

/* ---- mappings ---------------------------------------------------------- */

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	const char *name = info->dlpi_name;
	int *first = data, fd = *(first + 1), i;
	struct map_entry *m;
	size_t len;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr < lo)
			lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > hi)
			hi = ph->p_vaddr + ph->p_memsz;
	}
	/* The main program comes first, with an empty name. */
	if (*first && (!name || !name[0]))
		name = g_exe;
	*first = 0;
	if (!name || !name[0] || lo >= hi)
		return 0;
	for (i = 0; i < g_nr_maps; i++)
		if (g_maps[i].start == info->dlpi_addr + lo && !strcmp(g_maps[i].path, name))
			return 0;
	if (g_nr_maps == MAX_MAPS)
		return 1;
	len = strnlen(name, MAX_PATH - 1);
	m = &g_maps[g_nr_maps++];
	m->start = info->dlpi_addr + lo;
	m->end = info->dlpi_addr + hi;
	m->base = info->dlpi_addr;
	m->path_len = (uint32_t)len;
	memcpy(m->path, name, len);
	m->path[len] = 0;
	if (fd >= 0)
		write_map(fd, m);
	return 0;
}

/* Adds objects loaded since the last look (dlopen), writing them to @fd. */
static void refresh_maps(int fd)
{
	int args[2] = {1, fd};

	spin_lock(&g_maps_lock);
	dl_iterate_phdr(add_object, args);
	spin_unlock(&g_maps_lock);
}

static int site_known(uint64_t site)
{
	int i, known = 0;

	spin_lock(&g_maps_lock);
	for (i = 0; i < g_nr_maps && !known; i++)
		known = site >= g_maps[i].start && site < g_maps[i].end;
	spin_unlock(&g_maps_lock);
	return known;
}

/* ---- setup -------------------------------------------------------------- */

enum { INIT_NOT_YET, INIT_RUNNING, INIT_DONE };
static int g_init_state;

/* Reads the environment once, at the constructor or at the first call
 * that returns before it (an allocator's initialisation may fork or start
 * threads earlier).  Uses nothing the shim interposes. */
static void init_once(void)
{
	const char *dir;
	int expected = INIT_NOT_YET;
	ssize_t n;

	if (__atomic_load_n(&g_init_state, __ATOMIC_ACQUIRE) == INIT_DONE)
		return;
	if (!__atomic_compare_exchange_n(&g_init_state, &expected, INIT_RUNNING, 0,
					 __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&g_init_state, __ATOMIC_ACQUIRE) != INIT_DONE)
			sched_yield();
		return;
	}
	dir = getenv("CLONESCOPE_USER_TRACE");
	if (dir && dir[0] && strlen(dir) < sizeof(g_dir)) {
		n = readlink("/proc/self/exe", g_exe, sizeof(g_exe) - 1);
		g_exe[n > 0 ? n : 0] = 0;
		prctl(PR_GET_NAME, g_comm);
		refresh_maps(-1);
		strcpy(g_dir, dir);
	}
	__atomic_store_n(&g_init_state, INIT_DONE, __ATOMIC_RELEASE);
	/* The file says the shim ran in this image, calls or not: a clone
	 * the kernel saw in a process without one is one the shim could not
	 * see (static, setuid, LD_PRELOAD removed). */
	if (g_dir[0])
		trace_fd();
}

__attribute__((constructor)) static void cs_init(void)
{
	init_once();
}

/* Called after a call returned, in the process it returned in. */
static void record(uint32_t kind, pid_t tid, uint64_t entry, int64_t ret, int err, uint64_t site,
		   int64_t child)
{
	int saved = errno;

	init_once();
	if (g_dir[0]) {
		if (!site_known(site))
			refresh_maps(trace_fd());
		record_call(kind, tid, entry, ret, err, site, child);
	}
	errno = saved;
}

/* ---- the interposed calls ---------------------------------------------- */

#define SITE() ((uint64_t)(uintptr_t)__builtin_return_address(0))

/* fork() and _Fork(): the child records nothing, the parent one call. */
static pid_t traced_fork(uint32_t kind, pid_t (*real)(void), uint64_t site)
{
	uint64_t entry = now_ns();
	pid_t tid = gettid();
	pid_t r;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	r = real();

	if (r == 0)
		return 0;
	record(kind, tid, entry, r, r < 0 ? errno : 0, site, r > 0 ? r : 0);
	return r;
}

pid_t fork(void)
{
	return traced_fork(CS_KIND_FORK, REAL(fork), SITE());
}

pid_t _Fork(void)
{
	return traced_fork(CS_KIND__FORK, REAL(_Fork), SITE());
}

HIDDEN void cs_vfork_enter(uint64_t site)
{
	t_vfork_entry = now_ns();
	t_vfork_site = site;
	t_vfork_tid = gettid();
}

HIDDEN long cs_vfork_exit(long raw)
{
	if (raw < 0) {
		errno = (int)-raw;
		record(CS_KIND_VFORK, t_vfork_tid, t_vfork_entry, -1, (int)-raw, t_vfork_site, 0);
		return -1;
	}
	record(CS_KIND_VFORK, t_vfork_tid, t_vfork_entry, raw, 0, t_vfork_site, raw);
	return raw;
}

/* The child runs @fn on its own stack and never comes back here. */
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	uint64_t site = SITE(), entry = now_ns();
	pid_t tid = gettid();
	va_list ap;
	void *ptid, *tls, *ctid;
	typeof(&clone) real = REAL(clone);
	int r;

	/* Like glibc, take the optional arguments whether or not @flags
	 * asks for them: they are only read, never dereferenced here. */
	va_start(ap, arg);
	ptid = va_arg(ap, void *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, void *);
	va_end(ap);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	r = real(fn, stack, flags, arg, ptid, tls, ctid);
	record(CS_KIND_CLONE, tid, entry, r, r < 0 ? errno : 0, site, r > 0 ? r : 0);
	return r;
}

static int spawn_common(uint32_t kind, typeof(&posix_spawn) real, uint64_t site, pid_t *pid,
			const char *path, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	uint64_t entry = now_ns();
	pid_t tid = gettid(), child = 0;
	int r;

	if (!real)
		return ENOSYS;
	r = real(&child, path, fa, attr, argv, envp);

	if (pid && r == 0)
		*pid = child;
	record(kind, tid, entry, r, r, site, r == 0 ? child : 0);
	return r;
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(CS_KIND_POSIX_SPAWN, REAL(posix_spawn), SITE(), pid, path, fa, attr,
			    argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(CS_KIND_POSIX_SPAWNP, REAL(posix_spawnp), SITE(), pid, file, fa, attr,
			    argv, envp);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
		   void *arg)
{
	uint64_t site = SITE(), entry = now_ns();
	pid_t tid = gettid();
	typeof(&pthread_create) real = REAL(pthread_create);
	int r;

	if (!real)
		return ENOSYS;
	r = real(thread, attr, start, arg);

	record(CS_KIND_PTHREAD_CREATE, tid, entry, r, r, site, 0);
	return r;
}

int system(const char *command)
{
	uint64_t site = SITE(), entry = now_ns();
	pid_t tid = gettid();
	typeof(&system) real = REAL(system);
	int r;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	r = real(command);

	record(CS_KIND_SYSTEM, tid, entry, r, r == -1 ? errno : 0, site, 0);
	return r;
}

FILE *popen(const char *command, const char *mode)
{
	uint64_t site = SITE(), entry = now_ns();
	pid_t tid = gettid();
	typeof(&popen) real = REAL(popen);
	FILE *f;

	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	f = real(command, mode);

	record(CS_KIND_POPEN, tid, entry, f ? 0 : -1, f ? 0 : errno, site, 0);
	return f;
}

/* daemon() returns in the child (the parent _exits inside libc): the
 * record goes to the child's file, with the caller's tid at entry. */
int daemon(int nochdir, int noclose)
{
	uint64_t site = SITE(), entry = now_ns();
	pid_t tid = gettid();
	typeof(&daemon) real = REAL(daemon);
	int r;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	r = real(nochdir, noclose);

	record(CS_KIND_DAEMON, tid, entry, r, r < 0 ? errno : 0, site, r == 0 ? getpid() : 0);
	return r;
}

/*
 * clone3 has no glibc wrapper (2.36), so programs call syscall(SYS_clone3,
 * ...); syscall.S jumps here for that number only, with its arguments.
 * Only a fork-like clone3 (no CLONE_VM) is recorded: its child has its own
 * copy of this frame and returns through it like fork's.  A CLONE_VM child
 * on the caller's stack (CLONE_VFORK without a new stack) would clobber
 * this frame, and one on a new stack never returns here, so those go
 * straight through.  The flags are copied with process_vm_readv, which
 * fails with EFAULT instead of faulting: a bad pointer then reaches the
 * kernel untouched and gets its EFAULT there, as without the shim.
 */
HIDDEN long cs_syscall_clone3(long number, long a0, long a1, long a2, long a3, long a4, long a5)
{
	uint64_t site = SITE(), entry, flags = 0;
	struct iovec local = {&flags, sizeof(flags)};
	struct iovec remote = {(void *)a0, sizeof(flags)};
	int saved = errno;
	pid_t tid;
	long r;

	init_once();
	if (!g_dir[0] || a1 < (long)sizeof(flags) ||
	    cs_raw_syscall(SYS_process_vm_readv, (long)getpid(), (long)&local, 1L, (long)&remote,
			   1L, 0L) != (long)sizeof(flags) ||
	    (flags & CLONE_VM)) {
		errno = saved;
		return cs_raw_syscall(number, a0, a1, a2, a3, a4, a5);
	}
	entry = now_ns();
	tid = gettid();
	r = cs_raw_syscall(number, a0, a1, a2, a3, a4, a5);
	if (r == 0)
		return 0;
	record(CS_KIND_CLONE3, tid, entry, r, r < 0 ? errno : 0, site, r > 0 ? r : 0);
	return r;
}
