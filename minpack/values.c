/* Checks of float64 vectors for the Python layer, without NumPy's temporaries. */
#include "extension.h"

#include "guard.h"
#include "numpy_api.h"

/* all_finite(x): whether a float64 vector holds no NaN or infinity (leastsq's check of x0). */
PyObject *
values_all_finite(PyObject *module, PyObject *value)
{
    if (!is_float64_vector(value)) {
        PyErr_SetString(PyExc_TypeError, "all_finite needs a C-contiguous float64 vector");
        return NULL;
    }
    const double *data = PyArray_DATA((PyArrayObject *)value);
    return PyBool_FromLong(finite_values(data, (size_t)PyArray_DIM((PyArrayObject *)value, 0)));
}

/* magnitudes_within(x, low, high): whether low < |x_i| < high for every x_i of a float64
 * vector (never for NaN): cheap tests for values that need no np.errstate, or no division
 * by zero. */
PyObject *
values_magnitudes_within(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !is_float64_vector(args[0]) || !PyFloat_CheckExact(args[1]) ||
        !PyFloat_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "magnitudes_within needs a C-contiguous float64 vector and two floats");
        return NULL;
    }
    const double *data = PyArray_DATA((PyArrayObject *)args[0]);
    npy_intp size = PyArray_DIM((PyArrayObject *)args[0], 0);
    double low = PyFloat_AS_DOUBLE(args[1]), high = PyFloat_AS_DOUBLE(args[2]);
    for (npy_intp i = 0; i < size; i++) {
        double magnitude = fabs(data[i]);
        if (!(low < magnitude && magnitude < high)) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}
