/*
 * Compiled callbacks for tests/test_batch.py (leastsq_batch), which builds this file
 * together with callbacks.c (whose decay it calls) with
 *
 *     cc -O2 -ffp-contract=off -shared -fPIC callbacks.c batch_callbacks.c -o batch.so -lm
 *
 * and loads it with ctypes.  leastsq_batch gives a compiled func the address of row
 * data[k] as user_data, so each function here reads one problem's row:
 *
 *     decay_or_stop   [t_0..t_{m-1}, y_0..y_{m-1}, stop]     stops the fit when stop != 0
 *     sleepy_decay    [t_0..t_{m-1}, y_0..y_{m-1}]           sleeps, counts its calls
 *     meeting_decay   [t_0..t_{m-1}, y_0..y_{m-1}, meeting]  waits for another problem
 *     quadratic       [c_0, c_1, c_2]                        3 doubles per problem
 *
 * (callbacks.c's decay and decay_jacobian read [t..., y...] too.)  Like callbacks.c, not
 * part of the package; the meeting state is process-wide, for one test at a time.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stddef.h>
#include <time.h>

void decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data);

/* decay, but row = [t_0..t_{m-1}, y_0..y_{m-1}, stop]: when stop is nonzero, the first
 * call sets *iflag = (int)stop (negative, to stop the fit) and writes no residuals. */
void
decay_or_stop(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *row = user_data;
    if (row[2 * m] != 0.0) {
        *iflag = (int)row[2 * m];
        return;
    }
    decay(m, n, x, fvec, iflag, user_data);
}

/* decay, after sleeping sleepy_nanoseconds (1 ms unless set): makes a batch long by design
 * (Ctrl-C tests).  Counts its calls, from all threads, in sleepy_calls. */
static long sleepy_nanoseconds = 1000000;
static long sleepy_calls = 0;

void
set_sleepy_nanoseconds(long nanoseconds)
{
    sleepy_nanoseconds = nanoseconds;
}

long
sleepy_call_count(void)
{
    return __atomic_load_n(&sleepy_calls, __ATOMIC_SEQ_CST);
}

void
sleepy_decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    struct timespec pause = {sleepy_nanoseconds / 1000000000, sleepy_nanoseconds % 1000000000};
    __atomic_add_fetch(&sleepy_calls, 1, __ATOMIC_SEQ_CST);
    nanosleep(&pause, NULL);
    decay(m, n, x, fvec, iflag, user_data);
}

/* decay, but row = [t_0..t_{m-1}, y_0..y_{m-1}, meeting]: the first call with meeting 1
 * or 2 counts one arrival, then sleeps 1 ms at a time until both have arrived (then
 * meeting_saw_both(meeting) becomes 1) or meeting_timeout seconds have passed.  Two
 * problems can only both see the other if they are fitted at the same time, in two
 * threads that do not hold the GIL. */
static int arrivals = 0;
static int arrived[3] = {0, 0, 0};
static int saw_both[3] = {0, 0, 0};
static double meeting_timeout = 0.0;

void
reset_meeting(double timeout)
{
    arrivals = 0;
    for (int i = 0; i < 3; i++) {
        arrived[i] = 0;
        saw_both[i] = 0;
    }
    meeting_timeout = timeout;
}

int
meeting_saw_both(int meeting)
{
    return saw_both[meeting];
}

static double
seconds_between(const struct timespec *start, const struct timespec *end)
{
    return (double)(end->tv_sec - start->tv_sec) + 1e-9 * (double)(end->tv_nsec - start->tv_nsec);
}

void
meeting_decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *row = user_data;
    int meeting = (int)row[2 * m];
    if ((meeting == 1 || meeting == 2) && !arrived[meeting]) {
        struct timespec start, now, pause = {0, 1000000};
        arrived[meeting] = 1; /* only the thread fitting this problem touches it */
        __atomic_add_fetch(&arrivals, 1, __ATOMIC_SEQ_CST);
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            if (__atomic_load_n(&arrivals, __ATOMIC_SEQ_CST) >= 2) {
                saw_both[meeting] = 1;
                break;
            }
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (seconds_between(&start, &now) >= meeting_timeout) {
                break;
            }
            nanosleep(&pause, NULL);
        }
    }
    decay(m, n, x, fvec, iflag, user_data);
}

/* A quadratic through m points t_i = i / (m - 1), n = 3 coefficients; row = the 3 true
 * coefficients, so that K problems need only 3 K doubles of data (memory test):
 *
 *     fvec[i] = (x0 + x1 t + x2 t^2) - (c0 + c1 t + c2 t^2) + 0.01 (-1)^i        */
void
quadratic(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *c = user_data;
    (void)n;
    (void)iflag;
    for (int i = 0; i < m; i++) {
        double t = (double)i / (double)(m - 1);
        double noise = i % 2 == 0 ? 0.01 : -0.01;
        fvec[i] = (x[0] + x[1] * t + x[2] * t * t) - (c[0] + c[1] * t + c[2] * t * t) + noise;
    }
}
