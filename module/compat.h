/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels clonescope supports (5.10 to
 * 7.3), each resolved once here, as lttng-modules' include/wrapper/ does:
 * the tracers call these wrappers and test no kernel version themselves.
 * Differences in which functions exist to probe are run-time matters,
 * handled by each probe's candidate symbols (probes.h).
 */
#ifndef CLONESCOPE_COMPAT_H
#define CLONESCOPE_COMPAT_H

#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/version.h>

/* The one place a kernel version is compared. */
#define CS_KERNEL_AT_LEAST(major, minor, sub) \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(major, minor, sub))

/* 5.11 made the instance's kretprobe an RCU pointer behind get_kretprobe(). */
static inline struct kretprobe *cs_get_kretprobe(struct kretprobe_instance *ri)
{
#if CS_KERNEL_AT_LEAST(5, 11, 0)
	return get_kretprobe(ri);
#else
	return ri->rp;
#endif
}

/*
 * 5.18 added unsharing faults (a GUP read pin breaking COW without a
 * write); before it there are none to leave out.  An enum: no #ifdef.
 */
#if CS_KERNEL_AT_LEAST(5, 18, 0)
#define CS_FAULT_FLAG_UNSHARE	FAULT_FLAG_UNSHARE
#else
#define CS_FAULT_FLAG_UNSHARE	0
#endif

/*
 * Whether @page is anonymous memory a fork shares, not KSM's: 7.x dropped
 * the PageKsm() page-flag test for the folio one, there since 5.16.
 */
static inline bool cs_page_anon_not_ksm(struct page *page)
{
#if CS_KERNEL_AT_LEAST(5, 16, 0)
	struct folio *folio = page_folio(page);

	return folio_test_anon(folio) && !folio_test_ksm(folio);
#else
	return PageAnon(page) && !PageKsm(page);
#endif
}

/*
 * Whether do_wp_page() or wp_page_copy() returning @ret mapped the page
 * (reused or copied).  Before 6.2 they returned VM_FAULT_WRITE for that
 * and 0 when another thread had fixed the fault first; 6.2 dropped
 * VM_FAULT_WRITE, so from then on any success counts (the race is rare
 * and still cost a copy attempt).
 */
static inline bool cs_wp_fault_done(vm_fault_t ret)
{
#if !CS_KERNEL_AT_LEAST(6, 2, 0)
	return ret & VM_FAULT_WRITE;
#else
	return !ret;
#endif
}

/*
 * hugetlb COW, read from the arguments of the functions probed by name.
 *
 * hugetlb_wp() (hugetlb_cow() before 5.18) took the mm first up to 6.9:
 * (mm, vma, address, ptep, flags, pagecache_page/folio, ptl).  6.10 made
 * it (pagecache_folio, vmf) and 6.17 (vmf); stable kernels got the second
 * change too (Debian's 6.12.117 has (vmf)), so from 6.10 the layout is
 * unknown at build time and the faulting mm is current's: hugetlb_wp()
 * runs in the faulting task, except for a fault another process forces
 * through GUP (ptrace, /proc/PID/mem), which is then not counted.
 *
 * The copy of a huge page has taken the vma fourth throughout:
 *   copy_user_huge_page(dst, src, addr_hint, vma, pages_per_huge_page)
 *                                                              to 6.3
 *   copy_user_large_folio(dst_folio, src_folio, addr_hint, vma) from 6.4
 */
static inline struct mm_struct *cs_hugetlb_wp_mm(struct pt_regs *regs)
{
#if CS_KERNEL_AT_LEAST(6, 10, 0)
	return current->mm;
#else
	return (void *)regs_get_kernel_argument(regs, 0);
#endif
}

#if CS_KERNEL_AT_LEAST(6, 4, 0)
#define CS_HUGETLB_COPY_SYMBOL	"copy_user_large_folio"
#else
#define CS_HUGETLB_COPY_SYMBOL	"copy_user_huge_page"
#endif

/* The mm a huge page is copied for, and how many bytes. */
static inline struct mm_struct *cs_hugetlb_copy_mm(struct pt_regs *regs,
						   u64 *bytes)
{
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 3);

#if CS_KERNEL_AT_LEAST(6, 4, 0)
	*bytes = folio_size((struct folio *)regs_get_kernel_argument(regs, 0));
#else
	*bytes = (u64)(u32)regs_get_kernel_argument(regs, 4) << PAGE_SHIFT;
#endif
	return vma->vm_mm;
}

/*
 * task_newtask's clone_flags became a u64 (it was an unsigned long, as on
 * 6.12; 7.2 has the u64) in 6.18.  The same size on 64-bit, but a
 * tracepoint probe must have the tracepoint's exact prototype: the call
 * through it is checked where kCFI is on.
 */
#if CS_KERNEL_AT_LEAST(6, 18, 0)
typedef u64 cs_clone_flags_t;
#else
typedef unsigned long cs_clone_flags_t;
#endif

/*
 * sched_process_exit gained a group_dead argument after 6.12 (6.12.117
 * has one argument, 7.2 two; added in 6.16); the probe's prototype must
 * match, as above.
 */
#if CS_KERNEL_AT_LEAST(6, 16, 0)
#define CS_SCHED_PROCESS_EXIT_PROTO(p)	struct task_struct *p, bool group_dead
#else
#define CS_SCHED_PROCESS_EXIT_PROTO(p)	struct task_struct *p
#endif

/*
 * Whether fork copies the page tables of @src (into @dst): what
 * copy_page_range() tests first, returning at once when it need not
 * (open-coded there on 5.10, vma_needs_copy() in mm/memory.c on 6.1 and
 * 6.12: anon_vma, hugetlb, PFN maps, uffd-wp; 7.2 and 7.3 gather the flags
 * into VM_COPY_ON_FORK, guard regions added).  A superset of each
 * kernel's test: a VMA it calls copying that was not is timed for
 * nothing, never the reverse.
 */
#ifdef VM_COPY_ON_FORK
#define CS_VM_COPY_ON_FORK	(VM_COPY_ON_FORK | VM_HUGETLB)
#else
#define CS_VM_COPY_ON_FORK	(VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP | VM_UFFD_WP)
#endif

static inline bool cs_vma_needs_copy(const struct vm_area_struct *dst,
				     const struct vm_area_struct *src)
{
	return src->anon_vma ||
	       ((dst->vm_flags | src->vm_flags) & CS_VM_COPY_ON_FORK);
}

/*
 * __no_stack_protector came to compiler_attributes.h after 5.10; GCC has
 * the attribute since 11.  Without either, functions keep their canary.
 */
#ifndef __no_stack_protector
#if __has_attribute(__no_stack_protector__)
#define __no_stack_protector	__attribute__((__no_stack_protector__))
#else
#define __no_stack_protector
#endif
#endif

/*
 * The CLONE_NEW* flags that take copy_namespaces() off its fast path: all
 * but CLONE_NEWUSER, which copy_creds() handles.  7.x names the set
 * CLONE_NS_ALL (linux/ns/ns_common_types.h, the same seven flags in 7.3),
 * so a namespace it adds is counted here too.
 */
#ifdef CLONE_NS_ALL
#define CS_CLONE_NEW_NAMESPACES	(CLONE_NS_ALL & ~CLONE_NEWUSER)
#else
#define CS_CLONE_NEW_NAMESPACES	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | \
				 CLONE_NEWPID | CLONE_NEWNET |		\
				 CLONE_NEWCGROUP | CLONE_NEWTIME)
#endif

/*
 * Whether perf_event_init_task() is an ftrace site, where a kprobe costs
 * one ftrace call: 5.10 builds kernel/events/core.c without ftrace
 * (CFLAGS_REMOVE_core.o in kernel/events/Makefile), 6.1 and later with
 * it (checked in available_filter_functions on 6.1, 6.12 and 7.x).
 */
#define CS_PERF_EVENTS_FTRACE	CS_KERNEL_AT_LEAST(6, 1, 0)

/* del_timer_sync() became timer_delete_sync() in 6.2 and was removed in 6.15. */
#if CS_KERNEL_AT_LEAST(6, 2, 0)
#define cs_timer_delete_sync(t)	timer_delete_sync(t)
#else
#define cs_timer_delete_sync(t)	del_timer_sync(t)
#endif

#endif
