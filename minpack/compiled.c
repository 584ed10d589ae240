/*
 * Compiled callbacks: the CompiledCallback type that carries one to the fit engine, and a
 * fast reader for the usual kinds (read_compiled).  What is accepted is decided by the
 * Python layer (src/minpack/_compiled.py): this file only reads, faster, what it has
 * already accepted once.
 */
#include "extension.h"

#include <stdint.h>
#include <string.h>

#include "evaluation.h"

static PyObject *
CompiledCallback_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    unsigned long long function, user_data;
    int with_user_data;
    static char *keywords[] = {"address", "user_data", "with_user_data", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KKp:CompiledCallback", keywords, &function,
                                     &user_data, &with_user_data)) {
        return NULL;
    }
    if (function == 0) {
        PyErr_SetString(PyExc_ValueError, "a compiled callback's address must not be NULL");
        return NULL;
    }
    CompiledCallback *self = (CompiledCallback *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->code.function = (void *)(uintptr_t)function;
        self->code.user_data = (void *)(uintptr_t)user_data;
        self->code.with_user_data = with_user_data;
    }
    return (PyObject *)self;
}

static PyObject *
CompiledCallback_get_address(CompiledCallback *self, void *closure)
{
    return PyLong_FromVoidPtr(self->code.function);
}

static PyObject *
CompiledCallback_get_user_data(CompiledCallback *self, void *closure)
{
    return PyLong_FromUnsignedLongLong((unsigned long long)(uintptr_t)self->code.user_data);
}

static PyObject *
CompiledCallback_get_with_user_data(CompiledCallback *self, void *closure)
{
    return PyBool_FromLong(self->code.with_user_data);
}

static PyObject *
CompiledCallback_repr(CompiledCallback *self)
{
    return PyUnicode_FromFormat("CompiledCallback(address=%p, user_data=%p, with_user_data=%s)",
                                self->code.function, self->code.user_data,
                                self->code.with_user_data ? "True" : "False");
}

static PyGetSetDef CompiledCallback_getset[] = {
    {"address", (getter)CompiledCallback_get_address, NULL, "The function's address.", NULL},
    {"user_data", (getter)CompiledCallback_get_user_data, NULL,
     "The address passed as its user data.", NULL},
    {"with_user_data", (getter)CompiledCallback_get_with_user_data, NULL,
     "Whether its signature ends in void *user_data.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject CompiledCallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "minpack._minpack.CompiledCallback",
    .tp_doc = PyDoc_STR("CompiledCallback(address, user_data, with_user_data)\n--\n\n"
                        "A compiled func or Dfun, as the fit engine calls it."),
    .tp_basicsize = sizeof(CompiledCallback),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = CompiledCallback_new,
    .tp_repr = (reprfunc)CompiledCallback_repr,
    .tp_getset = CompiledCallback_getset,
};

static PyObject *
new_compiled(void *function, void *user_data, int with_user_data)
{
    CompiledCallback *self = PyObject_New(CompiledCallback, &CompiledCallbackType);
    if (self != NULL) {
        self->code.function = function;
        self->code.user_data = user_data;
        self->code.with_user_data = with_user_data;
    }
    return (PyObject *)self;
}

/* The address held by a ctypes object of pointer size (a function pointer, a c_void_p),
 * read through the buffer protocol, as ctypes.c_void_p.from_buffer reads it.  1 when
 * read, 0 when the object holds something else, -1 with an error set. */
static int
pointer_in_buffer(PyObject *object, void **address)
{
    Py_buffer view;
    if (PyObject_GetBuffer(object, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    int sized = view.len == (Py_ssize_t)sizeof(void *);
    if (sized) {
        memcpy(address, view.buf, sizeof(void *));
    }
    PyBuffer_Release(&view);
    return sized;
}

/* The attribute names read here, interned once (compiled_module_init). */
static PyObject *name_module, *name_function, *name_user_data, *name_signature, *name_scipy;

int
compiled_module_init(void)
{
    name_module = PyUnicode_InternFromString("__module__");
    name_function = PyUnicode_InternFromString("function");
    name_user_data = PyUnicode_InternFromString("user_data");
    name_signature = PyUnicode_InternFromString("signature");
    name_scipy = PyUnicode_InternFromString("scipy");
    return name_module && name_function && name_user_data && name_signature && name_scipy ? 0
                                                                                           : -1;
}

/* Whether callback is a scipy.LowLevelCallable: a tuple subclass of that name defined in
 * a scipy module (SciPy is not imported for this). */
static int
is_low_level_callable(PyObject *callback)
{
    /* The type recognised last: the same class is usually passed fit after fit. */
    static _Thread_local PyTypeObject *recognised_type = NULL;
    if (Py_TYPE(callback) == recognised_type) {
        return 1;
    }
    if (!PyTuple_Check(callback) || strcmp(Py_TYPE(callback)->tp_name, "LowLevelCallable") != 0) {
        return 0;
    }
    PyObject *module = PyObject_GetAttr((PyObject *)Py_TYPE(callback), name_module);
    int from_scipy = module != NULL && PyUnicode_Check(module) &&
                     PyUnicode_Tailmatch(module, name_scipy, 0, PY_SSIZE_T_MAX, -1) == 1;
    PyErr_Clear();
    Py_XDECREF(module);
    if (from_scipy && recognised_type == NULL) {
        /* Kept alive, so that its address cannot be another type's later. */
        recognised_type = (PyTypeObject *)Py_NewRef(Py_TYPE(callback));
    }
    return from_scipy;
}

/* A user-data object as a LowLevelCallable holds it: None, a PyCapsule or a c_void_p.
 * 1 when read, 0 for another kind. */
static int
read_user_data(PyObject *user_data, PyObject *void_pointer_type, void **address)
{
    *address = NULL;
    if (user_data == Py_None) {
        return 1;
    }
    if (PyCapsule_CheckExact(user_data)) {
        *address = PyCapsule_GetPointer(user_data, PyCapsule_GetName(user_data));
        PyErr_Clear();
        return *address != NULL;
    }
    if (Py_IS_TYPE(user_data, (PyTypeObject *)void_pointer_type)) {
        return pointer_in_buffer(user_data, address);
    }
    return 0;
}

/* Whether recognised (signature -> takes user data, as the Python rules found) holds
 * signature; *with_user_data is its value. */
static int
recognised_signature(PyObject *recognised, PyObject *signature, int *with_user_data)
{
    PyObject *known = PyUnicode_Check(signature) ? PyDict_GetItemWithError(recognised, signature)
                                                 : NULL;
    if (known == NULL) {
        PyErr_Clear();
        return 0;
    }
    *with_user_data = known == Py_True;
    return 1;
}

/* The parts of a scipy.LowLevelCallable, read through its public attributes function,
 * user_data and signature: 1 when read, 0 for a kind left to the Python layer. */
static int
read_low_level_callable(PyObject *callback, PyObject *recognised, PyObject *function_type,
                        PyObject *void_pointer_type, CompiledCode *code)
{
    PyObject *function = PyObject_GetAttr(callback, name_function);
    PyObject *user_data = function == NULL ? NULL : PyObject_GetAttr(callback, name_user_data);
    PyObject *signature = user_data == NULL ? NULL : PyObject_GetAttr(callback, name_signature);
    int read = 0;
    if (signature != NULL && recognised_signature(recognised, signature, &code->with_user_data) &&
        read_user_data(user_data, void_pointer_type, &code->user_data)) {
        if (PyCapsule_CheckExact(function)) {
            code->function = PyCapsule_GetPointer(function, PyCapsule_GetName(function));
            read = code->function != NULL;
        }
        else if (PyObject_TypeCheck(function, (PyTypeObject *)function_type)) {
            read = pointer_in_buffer(function, &code->function) && code->function != NULL;
        }
    }
    PyErr_Clear(); /* whatever went wrong, the Python layer reads it again and says so */
    Py_XDECREF(function);
    Py_XDECREF(user_data);
    Py_XDECREF(signature);
    return read;
}

/*
 * read_compiled(callback, recognised, function_pointer_type, void_pointer_type)
 *
 * A CompiledCallback for a PyCapsule, or a scipy.LowLevelCallable of a PyCapsule or a
 * ctypes function pointer (an instance of function_pointer_type) with no user data, a
 * PyCapsule or a c_void_p (void_pointer_type), whose signature is a key of recognised;
 * None for anything else, which the Python layer then reads and checks itself.
 */
PyObject *
compiled_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyDict_CheckExact(args[1]) || !PyType_Check(args[2]) ||
        !PyType_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "read_compiled(callback, recognised, function_pointer_type, "
                        "void_pointer_type)");
        return NULL;
    }
    PyObject *callback = args[0], *recognised = args[1];
    CompiledCode code = {NULL, NULL, 0};
    int read = 0;
    if (PyCapsule_CheckExact(callback)) {
        const char *name = PyCapsule_GetName(callback);
        PyObject *signature = name == NULL ? NULL : PyUnicode_FromString(name);
        if (signature != NULL && recognised_signature(recognised, signature, &code.with_user_data)) {
            code.function = PyCapsule_GetPointer(callback, name);
            code.user_data = PyCapsule_GetContext(callback);
            read = code.function != NULL;
        }
        PyErr_Clear();
        Py_XDECREF(signature);
    }
    else if (is_low_level_callable(callback)) {
        read = read_low_level_callable(callback, recognised, args[2], args[3], &code);
    }
    if (!read) {
        Py_RETURN_NONE;
    }
    return new_compiled(code.function, code.user_data, code.with_user_data);
}
