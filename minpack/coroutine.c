/* Coroutines for vectorized batches (see coroutine.h). */
/* MAP_ANONYMOUS is POSIX 2024 and BSD, not C11: ask glibc for it. */
#define _DEFAULT_SOURCE
#include "coroutine.h"

#include <stdint.h>
#include <string.h>

#if COROUTINES_AVAILABLE
#include <sys/mman.h>
#include <unistd.h>

#if COROUTINE_ASSEMBLY
void minpack_coroutine_switch(void **save, void *load);
void minpack_coroutine_entry(void);
#endif

static size_t
page_size(void)
{
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (size_t)size : 4096;
}

#if !COROUTINE_ASSEMBLY
/* makecontext passes ints: the coroutine's address in two halves. */
static void
ucontext_entry(unsigned int high, unsigned int low)
{
    Coroutine *co = (Coroutine *)(uintptr_t)(((uint64_t)high << 32) | (uint64_t)low);
    co->body(co->argument);
}
#endif

int
coroutine_create(Coroutine *co, size_t stack_bytes)
{
    size_t page = page_size();
    co->usable = (stack_bytes + page - 1) / page * page;
    co->mapped = co->usable + page;
    co->mapping = mmap(NULL, co->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    if (co->mapping == MAP_FAILED) {
        co->mapping = NULL;
        return -1;
    }
    /* The guard page: stacks grow down, so it is the lowest page of the mapping. */
    if (mprotect(co->mapping, page, PROT_NONE) != 0) {
        coroutine_free(co);
        return -1;
    }
    co->bottom = (char *)co->mapping + page;
    return 0;
}

int
coroutine_start(Coroutine *co, void (*body)(void *), void *argument)
{
    co->body = body;
    co->argument = argument;
#if COROUTINE_ASSEMBLY
    /* A frame for minpack_coroutine_switch to pop: the control words, r15 to rbp (r13 the
     * body, r12 its argument), and minpack_coroutine_entry as the return address. */
    uint64_t *sp = (uint64_t *)(((uintptr_t)(co->bottom + co->usable)) & ~(uintptr_t)15);
    *--sp = 0;
    *--sp = (uint64_t)(uintptr_t)minpack_coroutine_entry;
    *--sp = 0;                              /* rbp */
    *--sp = 0;                              /* rbx */
    *--sp = (uint64_t)(uintptr_t)argument;  /* r12 */
    *--sp = (uint64_t)(uintptr_t)body;      /* r13 */
    *--sp = 0;                              /* r14 */
    *--sp = 0;                              /* r15 */
    uint32_t sse_control = 0;
    uint16_t x87_control = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(sse_control));
    __asm__ volatile("fnstcw %0" : "=m"(x87_control));
    /* the same rounding and exception masks as here: MXCSR at 0, the x87 word at 4 */
    --sp;
    *sp = 0;
    memcpy(sp, &sse_control, sizeof sse_control);
    memcpy((char *)sp + 4, &x87_control, sizeof x87_control);
    co->stack_pointer = sp;
    co->resumer = NULL;
#else
    if (getcontext(&co->context) != 0) {
        return -1;
    }
    co->context.uc_stack.ss_sp = co->bottom;
    co->context.uc_stack.ss_size = co->usable;
    co->context.uc_link = NULL;
    uint64_t address = (uint64_t)(uintptr_t)co;
    makecontext(&co->context, (void (*)(void))ucontext_entry, 2, (unsigned int)(address >> 32),
                (unsigned int)(address & 0xffffffffu));
#endif
    return 0;
}

void
coroutine_resume(Coroutine *co)
{
#if COROUTINE_ASSEMBLY
    minpack_coroutine_switch(&co->resumer, co->stack_pointer);
#else
    swapcontext(&co->resumer, &co->context);
#endif
}

void
coroutine_yield(Coroutine *co)
{
#if COROUTINE_ASSEMBLY
    minpack_coroutine_switch(&co->stack_pointer, co->resumer);
#else
    swapcontext(&co->context, &co->resumer);
#endif
}

void
coroutine_free(Coroutine *co)
{
    if (co->mapping != NULL) {
        munmap(co->mapping, co->mapped);
        co->mapping = NULL;
    }
}

#else /* no coroutines: the callers fall back to one problem at a time */

int
coroutine_create(Coroutine *co, size_t stack_bytes)
{
    (void)stack_bytes;
    co->mapping = NULL;
    return -1;
}

int
coroutine_start(Coroutine *co, void (*body)(void *), void *argument)
{
    (void)co, (void)body, (void)argument;
    return -1;
}

void
coroutine_resume(Coroutine *co)
{
    (void)co;
}

void
coroutine_yield(Coroutine *co)
{
    (void)co;
}

void
coroutine_free(Coroutine *co)
{
    (void)co;
}

#endif
