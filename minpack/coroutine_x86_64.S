/*
 * The context switch of minpack/coroutine.c on x86_64 (System V ABI).
 *
 * minpack_coroutine_switch(void **save, void *load): push the callee-saved registers and
 * the SSE and x87 control words on this stack, store the stack pointer in *save, load the
 * one given, and pop what it saved.  Everything else a caller may rely on is caller-saved.
 *
 * minpack_coroutine_entry: where a new coroutine's first switch returns to (its stack is
 * laid out by coroutine_init): r12 holds the argument, r13 the function, which never
 * returns.
 */
    .text
    .globl minpack_coroutine_switch
    .hidden minpack_coroutine_switch
    .type minpack_coroutine_switch, @function
minpack_coroutine_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size minpack_coroutine_switch, .-minpack_coroutine_switch

    .globl minpack_coroutine_entry
    .hidden minpack_coroutine_entry
    .type minpack_coroutine_entry, @function
minpack_coroutine_entry:
    movq %r12, %rdi
    andq $-16, %rsp
    callq *%r13
    ud2
    .size minpack_coroutine_entry, .-minpack_coroutine_entry

    .section .note.GNU-stack,"",@progbits
