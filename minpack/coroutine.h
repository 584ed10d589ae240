/*
 * Coroutines for vectorized batches: each problem's MINPACK run on a small stack of its
 * own, suspended whenever MINPACK asks for an evaluation, so that one call of the user's
 * vectorized function can answer all the problems of a chunk.
 *
 * On x86_64 a switch saves and restores the callee-saved registers, the SSE and x87
 * control words and the stack pointer (coroutine_x86_64.S): 21 ns a round trip, measured
 * against 320 ns for glibc's swapcontext, which makes a system call to save the signal
 * mask at every switch.  Elsewhere the switch is ucontext's; without it
 * (COROUTINES_AVAILABLE 0) vectorized batches fall back to one problem at a time.
 *
 * Stacks are mapped with a guard page below them: an overflow faults instead of writing
 * over another problem's memory.
 */
#ifndef MINPACK_COROUTINE_H
#define MINPACK_COROUTINE_H

#include <stddef.h>

/* MINPACK_COROUTINE_UCONTEXT: ucontext's switch even where the assembly one runs (for the
 * tests and the benchmark of the two). */
#if defined(__x86_64__) && defined(__linux__) && !defined(MINPACK_COROUTINE_UCONTEXT)
#define COROUTINE_ASSEMBLY 1
#define COROUTINES_AVAILABLE 1
#elif defined(__unix__) || defined(__APPLE__)
#define COROUTINE_ASSEMBLY 0
#define COROUTINES_AVAILABLE 1
#include <ucontext.h>
#else
#define COROUTINE_ASSEMBLY 0
#define COROUTINES_AVAILABLE 0
#endif

typedef struct Coroutine {
    void *mapping;      /* the stack's mapping, guard page included */
    size_t mapped;      /* its size */
    char *bottom;       /* the usable stack: bottom .. bottom + usable */
    size_t usable;
    void (*body)(void *);
    void *argument;
#if COROUTINE_ASSEMBLY
    void *stack_pointer;  /* where the coroutine stopped */
    void *resumer;        /* where the code that resumed it stopped */
#elif COROUTINES_AVAILABLE
    ucontext_t context;
    ucontext_t resumer;
#endif
} Coroutine;

/* Map a stack of stack_bytes (plus a guard page): 0, or -1 when the memory could not be
 * had (co is then empty, and coroutine_free accepts it). */
int coroutine_create(Coroutine *co, size_t stack_bytes);
/* Make co run body(argument) from the top of its stack at the next resume.  co must not be
 * running: a new one, or one whose body has yielded for good (its frames are dropped, so
 * they must own nothing).  0, or -1 on failure. */
int coroutine_start(Coroutine *co, void (*body)(void *), void *argument);
/* Run co until it yields (or its body has ended: it must then yield forever, never
 * return). */
void coroutine_resume(Coroutine *co);
/* From inside co: go back to the code that resumed it. */
void coroutine_yield(Coroutine *co);
/* Unmap the stack (of a coroutine that is not running). */
void coroutine_free(Coroutine *co);

#endif
