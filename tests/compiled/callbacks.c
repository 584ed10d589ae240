/*
 * Compiled callbacks for tests/test_compiled_callbacks.py, which builds this file with
 *
 *     cc -O2 -ffp-contract=off -shared -fPIC callbacks.c -o callbacks.so -lm
 *
 * and loads it with ctypes.  -ffp-contract=off keeps the compiler from fusing a * b + c
 * into one rounding, so that the arithmetic below is exactly that of the Python twins in
 * the test module, which call the same libm exp through math.exp.
 *
 * The model is an exponential decay with n = 3 parameters at m points:
 *
 *     fvec[i] = x[0] * exp(-x[1] * t[i]) + x[2] - y[i]
 *
 * Its data is m doubles t followed by m doubles y, found through user_data.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stddef.h>
#include <time.h>

/* The data of the callbacks that receive none (user_data NULL, or no user_data at all).
 * For the tests only: one process-wide data set, set once before the fits that use it,
 * so these callbacks are not for concurrent fits on different data. */
static const double *static_data = NULL;

void
set_static_data(const double *data)
{
    static_data = data;
}

/* The residuals; user_data is the data (t then y), or NULL for the static data. */
void
decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *t = user_data != NULL ? (const double *)user_data : static_data;
    const double *y = t + m;
    (void)n;
    (void)iflag;
    for (int i = 0; i < m; i++) {
        fvec[i] = x[0] * exp(-x[1] * t[i]) + x[2] - y[i];
    }
}

/* The Jacobian of decay, column-major m x n with leading dimension m. */
void
decay_jacobian(int m, int n, const double *x, double *fjac, int *iflag, void *user_data)
{
    const double *t = user_data != NULL ? (const double *)user_data : static_data;
    (void)n;
    (void)iflag;
    for (int i = 0; i < m; i++) {
        double e = exp(-x[1] * t[i]);
        fjac[i] = e;
        fjac[i + m] = -x[0] * t[i] * e;
        fjac[i + 2 * m] = 1.0;
    }
}

/* The same without the user_data argument: always the static data. */
void
decay_static(int m, int n, const double *x, double *fvec, int *iflag)
{
    decay(m, n, x, fvec, iflag, NULL);
}

void
decay_jacobian_static(int m, int n, const double *x, double *fjac, int *iflag)
{
    decay_jacobian(m, n, x, fjac, iflag, NULL);
}

/* Stops the fit at once, remembering the user_data it received (see seen_user_data). */
static void *last_user_data = NULL;

void
record_user_data(int m, int n, const double *x, double *out, int *iflag, void *user_data)
{
    (void)m;
    (void)n;
    (void)x;
    (void)out;
    last_user_data = user_data;
    *iflag = -1;
}

void *
seen_user_data(void)
{
    return last_user_data;
}

/* decay and decay_jacobian that count their calls and can stop the fit.  Called with
 * user_data NULL (a ctypes function pointer carries none), they count in
 * calls_without_user_data and use the static data; for the tests only, like it. */
typedef struct {
    const double *data; /* t then y */
    int calls;          /* calls so far */
    int stop_at;        /* on this call (1-based) set *iflag = stop_with instead; 0: never */
    int stop_with;
} counted_data;

static int calls_without_user_data = 0;

int
counted_calls_without_user_data(void)
{
    return calls_without_user_data;
}

/* Count one call; whether it must stop the fit (then *iflag is set). */
static int
count_call(counted_data *counted, int *iflag)
{
    if (counted == NULL) {
        calls_without_user_data += 1;
        return 0;
    }
    counted->calls += 1;
    if (counted->calls == counted->stop_at) {
        *iflag = counted->stop_with;
        return 1;
    }
    return 0;
}

void
counted_decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    counted_data *counted = user_data;
    if (!count_call(counted, iflag)) {
        decay(m, n, x, fvec, iflag, counted != NULL ? (void *)counted->data : NULL);
    }
}

void
counted_decay_jacobian(int m, int n, const double *x, double *fjac, int *iflag,
                       void *user_data)
{
    counted_data *counted = user_data;
    if (!count_call(counted, iflag)) {
        decay_jacobian(m, n, x, fjac, iflag, counted != NULL ? (void *)counted->data : NULL);
    }
}

/* decay that, on its first call, waits for other fits to make their first call too.
 *
 * Each fit has its own rendezvous_data; they share *arrived.  The first call adds one to
 * *arrived, then sleeps 1 ms at a time until *arrived reaches expected (saw_all = 1) or
 * timeout seconds have passed (saw_all stays 0).  Two fits can only both see 2 if one of
 * them enters its residual while the other is waiting inside MINPACK: if the waiting thread
 * held the GIL, the other could never get there. */
typedef struct {
    const double *data; /* t then y */
    int *arrived;       /* shared; changed atomically */
    int expected;
    int calls;
    double timeout;
    int saw_all;
} rendezvous_data;

static double
seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

void
rendezvous_decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    rendezvous_data *meeting = user_data;
    meeting->calls += 1;
    if (meeting->calls == 1) {
        struct timespec start, pause = {0, 1000000};
        clock_gettime(CLOCK_MONOTONIC, &start);
        __atomic_add_fetch(meeting->arrived, 1, __ATOMIC_SEQ_CST);
        for (;;) {
            if (__atomic_load_n(meeting->arrived, __ATOMIC_SEQ_CST) >= meeting->expected) {
                meeting->saw_all = 1;
                break;
            }
            if (seconds_since(&start) >= meeting->timeout) {
                break;
            }
            nanosleep(&pause, NULL);
        }
    }
    decay(m, n, x, fvec, iflag, (void *)meeting->data);
}
