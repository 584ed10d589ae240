/*
 * A driver for minpack/coroutine.c, built as a program by tests/test_coroutines.py (once
 * with the assembly switch, once with -DMINPACK_COROUTINE_UCONTEXT) and by
 * benchmarks/bench_coroutine_switch.py.
 *
 *   coroutines interleave   many coroutines resumed in turn, each keeping its own state
 *                           (integers and doubles live across switches) and the caller's
 *                           rounding mode; prints "ok" and a checksum
 *   coroutines reuse        one coroutine started anew on the same stack many times
 *   coroutines overflow     a body that recurses past its stack: must die on the guard
 *                           page (SIGSEGV), not write below it
 *   coroutines time N       N resume/yield round trips, then the same with glibc's
 *                           swapcontext; prints the nanoseconds of one round trip of each
 */
#define _DEFAULT_SOURCE
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "coroutine.h"

#define STACK ((size_t)64 << 10)

typedef struct {
    Coroutine co;
    int id;
    int steps;
    double sum;     /* what the body computed, checked by the driver */
    int rounding;   /* fegetround() inside the body */
    int finished;
} Worker;

static void
counting_body(void *argument)
{
    Worker *w = argument;
    w->rounding = fegetround();
    double sum = 0.0;
    uint64_t mix = (uint64_t)w->id * 2654435761u;
    for (int step = 0; step < w->steps; step++) {
        sum += 1.0 / (double)(w->id + step + 1); /* in a register across the switch */
        mix = mix * 6364136223846793005u + 1442695040888963407u;
        coroutine_yield(&w->co);
    }
    w->sum = sum + (double)(mix >> 40);
    w->finished = 1;
    for (;;) {
        coroutine_yield(&w->co);
    }
}

static double
expected_sum(int id, int steps)
{
    double sum = 0.0;
    uint64_t mix = (uint64_t)id * 2654435761u;
    for (int step = 0; step < steps; step++) {
        sum += 1.0 / (double)(id + step + 1);
        mix = mix * 6364136223846793005u + 1442695040888963407u;
    }
    return sum + (double)(mix >> 40);
}

static int
interleave(void)
{
    enum { COUNT = 200 };
    static Worker workers[COUNT];
    fesetround(FE_UPWARD); /* the coroutines start with the caller's rounding */
    for (int i = 0; i < COUNT; i++) {
        workers[i].id = i;
        workers[i].steps = 10 + i % 17;
        if (coroutine_create(&workers[i].co, STACK) != 0 ||
            coroutine_start(&workers[i].co, counting_body, &workers[i]) != 0) {
            puts("create failed");
            return 1;
        }
    }
    int running = COUNT;
    while (running > 0) {
        running = 0;
        for (int i = 0; i < COUNT; i++) {
            if (!workers[i].finished) {
                coroutine_resume(&workers[i].co);
                running += !workers[i].finished;
            }
        }
    }
    fesetround(FE_TONEAREST);
    double checksum = 0.0;
    for (int i = 0; i < COUNT; i++) {
        fesetround(FE_UPWARD);
        double expected = expected_sum(i, workers[i].steps);
        fesetround(FE_TONEAREST);
        if (workers[i].sum != expected || workers[i].rounding != FE_UPWARD) {
            printf("coroutine %d: sum %.17g, expected %.17g; rounding %d\n", i, workers[i].sum,
                   expected, workers[i].rounding);
            return 1;
        }
        checksum += workers[i].sum;
        coroutine_free(&workers[i].co);
    }
    printf("ok %.17g\n", checksum);
    return 0;
}

static int
reuse(void)
{
    Worker w = {.id = 7, .steps = 3};
    if (coroutine_create(&w.co, STACK) != 0) {
        puts("create failed");
        return 1;
    }
    for (int run = 0; run < 10000; run++) {
        w.finished = 0;
        coroutine_start(&w.co, counting_body, &w);
        while (!w.finished) {
            coroutine_resume(&w.co);
        }
        if (w.sum != expected_sum(7, 3)) {
            printf("run %d: sum %.17g\n", run, w.sum);
            return 1;
        }
    }
    coroutine_free(&w.co);
    puts("ok");
    return 0;
}

static int
recurse(volatile char *previous, int depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = previous == NULL ? 0 : previous[0];
    return depth > 100000 ? frame[0] : recurse(frame, depth + 1) + frame[511];
}

static void
overflowing_body(void *argument)
{
    Worker *w = argument;
    w->sum = recurse(NULL, 0);
    w->finished = 1;
    for (;;) {
        coroutine_yield(&w->co);
    }
}

static int
overflow(void)
{
    Worker w = {0};
    if (coroutine_create(&w.co, STACK) != 0 || coroutine_start(&w.co, overflowing_body, &w)) {
        puts("create failed");
        return 1;
    }
    coroutine_resume(&w.co);
    puts("the recursion returned: no guard page");
    return 1;
}

static double
seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void
yielding_body(void *argument)
{
    Worker *w = argument;
    for (;;) {
        coroutine_yield(&w->co);
    }
}

static ucontext_t main_context, other_context;

static void
swapcontext_body(void)
{
    for (;;) {
        swapcontext(&other_context, &main_context);
    }
}

static int
time_switches(long rounds)
{
    Worker w = {0};
    if (coroutine_create(&w.co, STACK) != 0 || coroutine_start(&w.co, yielding_body, &w)) {
        puts("create failed");
        return 1;
    }
    double start = seconds();
    for (long i = 0; i < rounds; i++) {
        coroutine_resume(&w.co);
    }
    double ours = (seconds() - start) / (double)rounds;

    char *stack = malloc(STACK);
    getcontext(&other_context);
    other_context.uc_stack.ss_sp = stack;
    other_context.uc_stack.ss_size = STACK;
    other_context.uc_link = NULL;
    makecontext(&other_context, swapcontext_body, 0);
    start = seconds();
    for (long i = 0; i < rounds; i++) {
        swapcontext(&main_context, &other_context);
    }
    double glibc = (seconds() - start) / (double)rounds;
    printf("coroutine_switch_ns %.2f\nswapcontext_ns %.2f\n", 1e9 * ours, 1e9 * glibc);
    free(stack);
    coroutine_free(&w.co);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "interleave") == 0) {
        return interleave();
    }
    if (argc >= 2 && strcmp(argv[1], "reuse") == 0) {
        return reuse();
    }
    if (argc >= 2 && strcmp(argv[1], "overflow") == 0) {
        return overflow();
    }
    if (argc >= 3 && strcmp(argv[1], "time") == 0) {
        return time_switches(atol(argv[2]));
    }
    fputs("usage: coroutines interleave | reuse | overflow | time ROUNDS\n", stderr);
    return 2;
}
