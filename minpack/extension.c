/* What the hand-written C adds to minpack._minpack when it is imported (the .pyf's init
 * hook calls minpack_module_init after f2py's own set-up). */
#define MINPACK_IMPORTS_NUMPY
#include "numpy_api.h"

#include "extension.h"

#include "engine.h"
#include "guard.h"

int
minpack_module_init(PyObject *module)
{
    if (PyArray_ImportNumPyAPI() < 0) {
        return -1;
    }
    if (PyType_Ready(&CompiledCallbackType) < 0 ||
        PyModule_AddType(module, &CompiledCallbackType) < 0) {
        return -1;
    }
    if (PyModule_AddIntMacro(module, NONFINITE_AT_X0) < 0 ||
        PyModule_AddIntMacro(module, NONFINITE_JACOBIAN) < 0) {
        return -1;
    }
    if (compiled_module_init() < 0 || engine_module_init(module) < 0) {
        return -1;
    }
    return capi_module_init(module);
}
