/*
 * The rules for non-finite values (docs/guide/robustness.md), applied around each
 * evaluation of every fit, single or batched, with Python or compiled callbacks:
 * NaN or infinity in the residuals at x0 stops the fit at once (ier NONFINITE_AT_X0);
 * in the Jacobian, whether Dfun's or lmdif's forward differences, it stops the fit at the
 * current iterate (ier NONFINITE_JACOBIAN); at a trial point MINPACK itself rejects the
 * step, so nothing is done there, except that a trial point that is not finite itself is
 * never passed to the callback.
 *
 * Static inline: these run around every evaluation of a compiled callback too, where a
 * call costs as much as the check.
 */
#ifndef MINPACK_GUARD_H
#define MINPACK_GUARD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "minpack.h"

/* The ier of fits stopped by non-finite values; MINPACK's own info is 0 to 8. */
#define NONFINITE_AT_X0 9
#define NONFINITE_JACOBIAN 10

/* Whether count doubles are all finite: no NaN, no infinity, that is no exponent of all
 * ones.  Integer arithmetic on the bits, which sets no floating-point flag: adding one to
 * an exponent field of all ones carries into the sign bit, and nothing else does, so the
 * loop is ANDs, 64-bit adds and ORs, which SSE2 vectorises. */
static inline int
finite_values(const double *values, size_t count)
{
    const uint64_t exponent = UINT64_C(0x7ff0000000000000), one = UINT64_C(1) << 52;
    uint64_t carries = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, values + i, sizeof bits);
        carries |= (bits & exponent) + one;
    }
    return (carries >> 63) == 0;
}

/* Copy count doubles and tell whether they are all finite.  memcpy and then a pass over
 * the copy, still in cache, measured faster than one loop that does both. */
static inline int
copy_finite_values(double *destination, const double *source, size_t count)
{
    memcpy(destination, source, count * sizeof(double));
    return finite_values(destination, count);
}

/* What guard_after is told of the values: not looked at yet, or found (not) finite. */
#define VALUES_UNCHECKED (-1)

/* One fit's state for the non-finite rules. */
typedef struct {
    double *base_point; /* n values: x at MINPACK's latest iflag = 1 call */
    int evaluated_x0;   /* MINPACK's first evaluation, at x0, has been made */
    int verdict;        /* 0, or the ier of a stop: NONFINITE_AT_X0 or NONFINITE_JACOBIAN */
} Guard;

static inline void
guard_reset(Guard *guard)
{
    guard->evaluated_x0 = 0;
    guard->verdict = 0;
}

/*
 * Before MINPACK's evaluation *iflag (1: residuals; 2: lmdif's forward difference, or
 * lmder's Jacobian) at x: whether the callback is to be called.  When it is not, either
 * out (MINPACK's m residuals) holds NaN, or the fit is stopped through *iflag.
 *
 * The iterate at which a Jacobian is evaluated is the point of MINPACK's latest iflag = 1
 * call (x0, or the trial point that was just accepted), so that point is kept: lmdif's
 * forward differences move one component of MINPACK's own x, which is put back from it
 * when the fit stops there.
 */
static inline int
guard_before(Guard *guard, int *iflag, int m, int n, double *x, double *out)
{
    if (*iflag == 1) {
        memcpy(guard->base_point, x, (size_t)n * sizeof(double));
        if (guard->evaluated_x0 && !finite_values(x, (size_t)n)) {
            /* A step overflowed.  NaN residuals make MINPACK reject it, as it rejects any
             * point where func returns NaN; the callback never sees such an x. */
            for (int i = 0; i < m; i++) {
                out[i] = NAN;
            }
            return 0;
        }
    }
    else if (*iflag == 2 && !finite_values(x, (size_t)n)) {
        /* x + h overflowed in lmdif's forward differences. */
        memcpy(x, guard->base_point, (size_t)n * sizeof(double));
        guard->verdict = NONFINITE_JACOBIAN;
        *iflag = STOP_FIT;
        return 0;
    }
    return 1;
}

/* Whether guard_after will look at the values of evaluation `asked`. */
static inline int
guard_checks(const Guard *guard, int asked)
{
    return asked == 2 || (asked == 1 && !guard->evaluated_x0);
}

/* After evaluation `asked` (the iflag MINPACK passed) wrote count values to out; finite
 * is what the copy into out found, or VALUES_UNCHECKED. */
static inline void
guard_after(Guard *guard, int asked, int *iflag, int n, double *x, const double *out,
            size_t count, int finite)
{
    if (*iflag < 0) {
        return; /* the callback stopped the fit itself */
    }
    if (finite == VALUES_UNCHECKED && guard_checks(guard, asked)) {
        finite = finite_values(out, count);
    }
    if (asked == 1) {
        if (!guard->evaluated_x0) {
            guard->evaluated_x0 = 1;
            if (!finite) {
                guard->verdict = NONFINITE_AT_X0;
                *iflag = STOP_FIT;
            }
        }
        /* At a trial point MINPACK rejects non-finite residuals itself: its test of the
         * actual reduction, p1*fnorm1 < fnorm, fails for NaN and infinity alike. */
    }
    else if (asked == 2 && !finite) {
        memcpy(x, guard->base_point, (size_t)n * sizeof(double));
        guard->verdict = NONFINITE_JACOBIAN;
        *iflag = STOP_FIT;
    }
}

#endif
