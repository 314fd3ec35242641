/*
 * A fork with a known copy-on-write bill, for the end-to-end test of
 * `clonescope script`: the parent populates a private anonymous region and
 * forks once; the child writes CHILD_PAGES distinct pages of it, the parent
 * PARENT_PAGES others while the child still shares them, then the child
 * exits.  (selftests/cow_test.c measures the same bill against the module
 * directly.)
 *
 * usage: clonescope_cow [CHILD_PAGES PARENT_PAGES]   (default 100 50)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(char *region, long page_size, long first, long n)
{
	for (long i = first; i < first + n; i++)
		region[i * page_size] ^= 1;
}

int main(int argc, char **argv)
{
	const long child_pages = argc > 1 ? atol(argv[1]) : 100;
	const long parent_pages = argc > 2 ? atol(argv[2]) : 50;
	const long page_size = sysconf(_SC_PAGESIZE);
	const long pages = child_pages + parent_pages;
	int go[2], status;
	char *region;
	char byte;
	pid_t pid;

	if (child_pages < 0 || parent_pages < 0 || pipe(go)) {
		fprintf(stderr, "usage: clonescope_cow [CHILD_PAGES PARENT_PAGES]\n");
		return 2;
	}
	region = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* No THP: 4K pages only, so the bill is counted in 4K copies. */
	madvise(region, pages * page_size, MADV_NOHUGEPAGE);
	memset(region, 1, pages * page_size);

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(go[1]);
		touch(region, page_size, 0, child_pages);
		/* Stay until the parent has written its pages too. */
		if (read(go[0], &byte, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	touch(region, page_size, child_pages, parent_pages);
	close(go[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
