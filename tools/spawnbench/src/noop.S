/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The child every method starts: a static program that exits 0 at once.
 *
 * Started with exactly one argument (argc == 2), it is a chain instead: as
 * long as that argument is not empty it execs itself (argv[0]) again with the
 * argument one character shorter, then exits 0. spawnbench's exec-chain
 * method uses this to time one execve() of this same image.
 */
	.globl	_start
	.text
_start:
	cmpq	$2, (%rsp)		/* argc */
	jne	.Lexit0
	movq	16(%rsp), %rsi		/* argv[1]: one character per exec to go */
	cmpb	$0, (%rsi)
	je	.Lexit0
	incq	16(%rsp)		/* one character fewer for the next image */
	movq	8(%rsp), %rdi		/* argv[0]: this program */
	leaq	8(%rsp), %rsi		/* argv */
	leaq	32(%rsp), %rdx		/* envp: after argv's NULL */
	movl	$59, %eax		/* execve */
	syscall
	movl	$127, %edi		/* execve failed */
	jmp	.Lexit
.Lexit0:
	xorl	%edi, %edi
.Lexit:
	movl	$60, %eax		/* exit */
	syscall
	.section .note.GNU-stack, "", @progbits
