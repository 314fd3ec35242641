/*
 * syscall() for the clonescope shim.
 *
 * The shim interposes syscall(2) only to see clone3, which has no glibc
 * wrapper.  Every other number must behave exactly as glibc's syscall(),
 * and it must do so at any time: allocators such as jemalloc call
 * syscall() for raw open/read from their own initialisation, which can run
 * before the shim's constructor and even inside the dynamic loader's
 * dlsym().  So this entry needs no function pointer at all: it is glibc's
 * own sysdeps/unix/sysv/linux/x86_64/syscall.S (the same register
 * shuffle, the same -4095 error test), and only SYS_clone3 takes a tail
 * jump into C (cs_syscall_clone3, same arguments, same stack), which
 * decides whether to record it.
 *
 * cs_raw_syscall is the same code without the clone3 test, for the C side
 * to forward with.  On an error both store -result in errno (through
 * __errno_location, which is always bound: the shim links libc) and
 * return -1.
 */
	.text
	.globl	syscall
	.type	syscall, @function
	.p2align 4
syscall:
	.cfi_startproc
	cmpq	$435, %rdi		/* __NR_clone3 */
	je	cs_syscall_clone3
	.cfi_endproc
	.size	syscall, .-syscall

	.globl	cs_raw_syscall
	.hidden	cs_raw_syscall
	.type	cs_raw_syscall, @function
cs_raw_syscall:				/* syscall falls through to here */
	.cfi_startproc
	movq	%rdi, %rax		/* number */
	movq	%rsi, %rdi		/* arguments 1-5 from registers */
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9		/* argument 6 from the stack */
	syscall
	cmpq	$-4095, %rax
	jae	1f
	ret
1:
	negq	%rax
	pushq	%rax			/* the error; aligns the stack for the call */
	.cfi_adjust_cfa_offset 8
	call	__errno_location@PLT
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	movl	%ecx, (%rax)
	movq	$-1, %rax
	ret
	.cfi_endproc
	.size	cs_raw_syscall, .-cs_raw_syscall

	.section .note.GNU-stack, "", @progbits
