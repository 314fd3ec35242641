/*
 * vfork() for the clonescope shim.
 *
 * vfork cannot be wrapped by a C function: the child runs on the parent's
 * stack, returns through the wrapper's frame and then overwrites it (its
 * next call, e.g. execve, reuses the slot that held the wrapper's return
 * address), so the parent would later return through garbage.  glibc's
 * own vfork (sysdeps/unix/sysv/linux/x86_64/vfork.S) keeps the return
 * address in a register across the syscall and pushes it back afterwards;
 * this does the same around the raw vfork syscall:
 *
 *   1. in the parent, before the syscall: call cs_vfork_enter(call site),
 *      a normal C function that notes the entry time in thread-local
 *      storage;
 *   2. pop the return address into %rsi (the syscall preserves it), do
 *      the vfork syscall, push %rsi back;
 *   3. the child (rax == 0) returns at once: it allocates nothing, calls
 *      nothing and writes only the return-address slot it popped;
 *   4. the parent, resumed after the child's exec or exit, calls
 *      cs_vfork_exit(raw result), which records the call, sets errno for
 *      a failure and returns what vfork must return.
 *
 * x86-64 only (the tool's only target).  Not compatible with a CET shadow
 * stack, like any code that returns twice through one frame; glibc 2.36 on
 * Debian 12 does not enable it.
 */
	.text
	.globl	vfork
	.type	vfork, @function
	.p2align 4
vfork:
	.cfi_startproc
	movq	(%rsp), %rdi		/* call site: our return address */
	subq	$8, %rsp		/* 16-byte alignment for the call */
	.cfi_adjust_cfa_offset 8
	call	cs_vfork_enter
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8

	popq	%rsi			/* return address, out of the child's way */
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rsi
	movl	$58, %eax		/* __NR_vfork */
	syscall
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rip, 0

	testq	%rax, %rax
	jz	1f			/* the child: straight back to the caller */

	movq	%rax, %rdi
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	cs_vfork_exit		/* parent: record; returns vfork's result */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
1:
	ret
	.cfi_endproc
	.size	vfork, .-vfork

	.section .note.GNU-stack, "", @progbits
