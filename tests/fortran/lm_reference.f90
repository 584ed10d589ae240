! lm_reference: the reference results for tests/test_fortran_exactness.py.
!
! Runs MINPACK's LMDIF and LMDER, called directly from Fortran, on the
! More-Garbow-Hillstrom test problems, with the settings that minpack.leastsq
! uses by default, so that the test can demand bit-for-bit equal results.
!
! Reads the problem list (MINPACK's examples/file22: lines "nprob n m ntries",
! ended by nprob <= 0 or end of file) from standard input.  Like MINPACK's own
! test drivers, tries each problem ntries times, from INITPT's starting point
! scaled by factor = 1, 10, 100.  Prints one line per run:
!
!   routine nprob n m factor info nfev njev x(1) ... x(n)
!
! where njev is 0 for lmdif and each x(i) is its IEEE 64-bit pattern, printed
! as a signed decimal integer (so that no rounding happens in printing).
!
! Link with the problems' SSQFCN, SSQJAC and INITPT (extracted at test time
! from MINPACK's examples/file17) and with MINPACK itself.
module mgh_problem
    implicit none
    private
    public :: nprob, residuals, residuals_and_jacobian

    ! The problem the callbacks evaluate: MINPACK's fcn has no room for it.
    integer, save :: nprob = 0

contains

    ! LMDIF's fcn: the residuals.
    subroutine residuals(m, n, x, fvec, iflag)
        integer, intent(in) :: m, n
        double precision, intent(in) :: x(n)
        double precision, intent(out) :: fvec(m)
        integer, intent(inout) :: iflag
        call ssqfcn(m, n, x, fvec, nprob)
    end subroutine residuals

    ! LMDER's fcn: the residuals when iflag is 1, the Jacobian when it is 2.
    subroutine residuals_and_jacobian(m, n, x, fvec, fjac, ldfjac, iflag)
        integer, intent(in) :: m, n, ldfjac
        double precision, intent(in) :: x(n)
        double precision, intent(inout) :: fvec(m), fjac(ldfjac, n)
        integer, intent(inout) :: iflag
        if (iflag == 1) call ssqfcn(m, n, x, fvec, nprob)
        if (iflag == 2) call ssqjac(m, n, x, fjac, ldfjac, nprob)
    end subroutine residuals_and_jacobian

end module mgh_problem

program lm_reference
    use, intrinsic :: iso_fortran_env, only: int64
    use mgh_problem, only: nprob, residuals, residuals_and_jacobian
    implicit none
    external :: initpt, ssqfcn, ssqjac, lmdif, lmder

    ! minpack.leastsq's defaults (and SciPy's).
    double precision, parameter :: ftol = 1.49012d-8, xtol = 1.49012d-8, gtol = 0d0
    double precision, parameter :: step_bound = 100d0
    ! numpy.finfo(numpy.float64).eps, the default epsfcn for float64 residuals.
    double precision, parameter :: epsfcn = 2.220446049250313d-16
    ! diag=None: MINPACK scales the variables itself.  nprint=0: no printing calls.
    integer, parameter :: mode = 1, nprint = 0

    integer :: n, m, ntries, try, ios, info, nfev, njev
    double precision :: factor
    double precision, allocatable :: x0(:), x(:), fvec(:), fjac(:, :), diag(:), qtf(:)
    double precision, allocatable :: wa1(:), wa2(:), wa3(:), wa4(:)
    integer, allocatable :: ipvt(:)

    do
        read (*, *, iostat=ios) nprob, n, m, ntries
        if (ios /= 0 .or. nprob <= 0) exit
        ! The leading dimension of fjac is m, as in minpack.leastsq.
        allocate (x0(n), x(n), fvec(m), fjac(m, n), diag(n), qtf(n), ipvt(n))
        allocate (wa1(n), wa2(n), wa3(n), wa4(m))
        factor = 1d0
        do try = 1, ntries
            call initpt(n, x0, nprob, factor)

            x = x0
            call lmdif(residuals, m, n, x, fvec, ftol, xtol, gtol, 200*(n + 1), epsfcn, &
                       diag, mode, step_bound, nprint, info, nfev, fjac, m, ipvt, qtf, &
                       wa1, wa2, wa3, wa4)
            call report('lmdif', 0)

            x = x0
            call lmder(residuals_and_jacobian, m, n, x, fvec, fjac, m, ftol, xtol, gtol, &
                       100*(n + 1), diag, mode, step_bound, nprint, info, nfev, njev, ipvt, &
                       qtf, wa1, wa2, wa3, wa4)
            call report('lmder', njev)

            ! As MINPACK's drivers do: the next try starts ten times farther out.
            factor = 10d0*factor
        end do
        deallocate (x0, x, fvec, fjac, diag, qtf, ipvt, wa1, wa2, wa3, wa4)
    end do

contains

    ! Print one run's line; x as exact bit patterns.
    subroutine report(routine, jacobians)
        character(*), intent(in) :: routine
        integer, intent(in) :: jacobians
        write (*, '(a, 7(1x, i0), *(1x, i0))') routine, nprob, n, m, nint(factor), info, &
            nfev, jacobians, transfer(x, 0_int64, n)
    end subroutine report

end program lm_reference
