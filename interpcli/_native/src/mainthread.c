/* The run's thread is threading's main thread, as the thread that runs a script is under
 * `python`: threading.current_thread() is threading.main_thread() (named "MainThread",
 * not daemon, so the threads it starts are not daemon either), asyncio finds its event
 * loop there, logging prints "MainThread".
 *
 * threading decides once, at its import, which thread is the main one: the importing
 * thread on 3.12, the thread that _thread._get_main_thread_ident() names on 3.13+ (the
 * process's main OS thread, whatever the interpreter). Runs of an interpreter come from
 * any OS thread, each on a fresh thread state, so at each run (and at the close) the main
 * thread object is moved to the calling thread: its ident, native id and entry in
 * threading._active; on 3.13+ the handle threading keeps for it. On 3.12 its "thread
 * state lock" (which threading._shutdown, run by the main thread, releases; joining the
 * main thread waits for it) is a lock held across runs: the run whose thread state made
 * it (the one that imported threading) detaches it from that thread state as it ends,
 * or deleting the thread state would release it and end the main thread. Before
 * threading is imported, on 3.13+, _thread._get_main_thread_ident() is made to name the
 * run's thread, so the import makes that thread the main one (importing threading up
 * front would cost each interpreter ~2 ms).
 *
 * Only interpreters the core made: the main interpreter's main thread is the process's. */
#include "common.h"

#define IC_ADOPT_KEY "interpcli.adopt_main_thread"

static const char ADOPT[] =
    "def adopt(threading, _thread):\n"
    "    ident = _thread.get_ident()\n"
    "    main = threading._main_thread\n"
    "    active = threading._active\n"
    "    with threading._active_limbo_lock:\n"
    "        if main._ident != ident:\n"
    "            if active.get(main._ident) is main:\n"
    "                del active[main._ident]\n"
    "            main._ident = ident\n"
    "            if hasattr(main, '_os_thread_handle'):      # 3.14+\n"
    "                main._os_thread_handle = threading._make_thread_handle(ident)\n"
    "            elif hasattr(threading, '_make_thread_handle'):     # 3.13\n"
    "                main._handle = threading._make_thread_handle(ident)\n"
    "        active[ident] = main\n"
    "    if hasattr(main, '_set_native_id'):\n"
    "        main._set_native_id()\n"
    "    if hasattr(_thread, '_set_sentinel'):     # 3.12: held while the main thread lives\n"
    "        lock = main._tstate_lock\n"
    "        if lock is None or not lock.locked():\n"
    "            lock = _thread.allocate_lock()\n"
    "            lock.acquire()\n"
    "            main._tstate_lock = lock\n"
    "            main._is_stopped = False\n";

/* The adopt() function of the current interpreter (borrowed), compiled on first use. */
static PyObject *adopt_function(void)
{
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict == NULL) {
        return NULL;
    }
    PyObject *fn = PyDict_GetItemString(dict, IC_ADOPT_KEY);
    if (fn != NULL) {
        return fn;
    }
    PyObject *code = Py_CompileString(ADOPT, "<interpcli main thread>", Py_file_input);
    if (code == NULL) {
        return NULL;
    }
    PyObject *globals = PyDict_New();
    PyObject *r = NULL;
    if (globals != NULL
        && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0) {
        r = PyEval_EvalCode(code, globals, globals);
    }
    Py_DECREF(code);
    Py_XDECREF(r);
    fn = r != NULL ? PyDict_GetItemString(globals, "adopt") : NULL;
    if (fn != NULL && PyDict_SetItemString(dict, IC_ADOPT_KEY, fn) < 0) {
        fn = NULL;
    }
    Py_XDECREF(globals);
    return fn;      /* the interpreter's dict holds it */
}

static PyObject *module_if_imported(const char *name)
{
    PyObject *s = PyUnicode_FromString(name);
    PyObject *m = s != NULL ? PyImport_GetModule(s) : NULL;
    Py_XDECREF(s);
    return m;
}

void ic_adopt_main_thread(ic_interp *rec)
{
    if (rec->kind != IC_KIND_OWNED) {
        return;
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *thread_mod = module_if_imported("_thread");
    if (thread_mod == NULL && !PyErr_Occurred()) {
        thread_mod = PyImport_ImportModule("_thread");
    }
    PyObject *threading = thread_mod != NULL ? module_if_imported("threading") : NULL;
#if PY_VERSION_HEX >= 0x030D0000
    if (thread_mod != NULL && !PyErr_Occurred()) {
        /* a callable that returns the ident: int.__index__ bound to it */
        PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        PyObject *get = ident != NULL ? PyObject_GetAttrString(ident, "__index__") : NULL;
        if (get != NULL) {
            PyObject_SetAttrString(thread_mod, "_get_main_thread_ident", get);
        }
        Py_XDECREF(get);
        Py_XDECREF(ident);
    }
#endif
    if (threading != NULL) {
        PyObject *fn = adopt_function();
        PyObject *r = fn != NULL ? PyObject_CallFunctionObjArgs(fn, threading, thread_mod,
                                                               NULL) : NULL;
        Py_XDECREF(r);
    }
    Py_XDECREF(threading);
    Py_XDECREF(thread_mod);
    /* never a reason for a run (or a close) to fail: threading as the code left it */
    PyErr_Clear();
    PyErr_SetRaisedException(exc);
}

void ic_main_thread_run_end(ic_interp *rec)
{
#if PY_VERSION_HEX < 0x030D0000
    if (rec->kind != IC_KIND_OWNED) {
        return;
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *threading = module_if_imported("threading");
    PyObject *thread_mod = threading != NULL ? module_if_imported("_thread") : NULL;
    /* a new sentinel takes the old one's place on this thread state; nothing holds it */
    PyObject *r = thread_mod != NULL ? PyObject_CallMethod(thread_mod, "_set_sentinel", NULL)
                                     : NULL;
    Py_XDECREF(r);
    Py_XDECREF(thread_mod);
    Py_XDECREF(threading);
    PyErr_Clear();
    PyErr_SetRaisedException(exc);
#else
    (void)rec;
#endif
}

/* Interpreters the core did not make (`_testcapi.run_in_subinterp`, `_interpreters`, an
 * extension's Py_NewInterpreter), made by a script on its thread, which is not the
 * process's main OS thread: on 3.13+, threading there takes the process's main thread for
 * its main thread (_thread._get_main_thread_ident()), so the thread that imports it is a
 * daemon _DummyThread and every thread it starts is a daemon too; Py_EndInterpreter does
 * not wait for those: 3.13 aborts the process ("Fatal Python error: Py_EndInterpreter:
 * not the last thread"), 3.14 and 3.15 leave them hung for good. python, whose scripts run
 * on the main OS thread, never meets this (3.12's threading takes the importing thread).
 * So on 3.13+ a process-wide audit hook watches the import of threading in such an
 * interpreter, off the main OS thread, and
 * makes _thread._get_main_thread_ident() name the importing thread first, as the core
 * does for its own interpreters: the threads it starts are joined at the end, as under
 * python. */
#if PY_VERSION_HEX >= 0x030D0000
static void name_importer_main(void)
{
    PyObject *thread_mod = module_if_imported("_thread");
    if (thread_mod == NULL && !PyErr_Occurred()) {
        thread_mod = PyImport_ImportModule("_thread");
    }
    PyObject *get = thread_mod != NULL
        ? PyObject_GetAttrString(thread_mod, "_get_main_thread_ident") : NULL;
    /* still the builtin: not made to name a thread already (the core's interpreters) */
    if (get != NULL && PyCFunction_Check(get)) {
        PyObject *main = PyObject_CallNoArgs(get);
        PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        if (main != NULL && ident != NULL
            && PyObject_RichCompareBool(main, ident, Py_NE) == 1) {
            PyObject *named = PyObject_GetAttrString(ident, "__index__");
            if (named != NULL) {
                PyObject_SetAttrString(thread_mod, "_get_main_thread_ident", named);
            }
            Py_XDECREF(named);
        }
        Py_XDECREF(ident);
        Py_XDECREF(main);
    }
    Py_XDECREF(get);
    Py_XDECREF(thread_mod);
}

static int nested_import_hook(const char *event, PyObject *args, void *data)
{
    (void)data;
    if (strcmp(event, "import") != 0 || PyInterpreterState_Get() == PyInterpreterState_Main()
        || !PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 1) {
        return 0;
    }
    PyObject *name = PyTuple_GET_ITEM(args, 0);
    if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, "threading") != 0) {
        return 0;
    }
    PyObject *exc = PyErr_GetRaisedException();
    name_importer_main();
    PyErr_Clear();      /* never a reason for the import to fail */
    PyErr_SetRaisedException(exc);
    return 0;
}
#endif

int ic_nested_main_thread_init(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    static int installed = 0;
    if (!installed && PyInterpreterState_Get() == PyInterpreterState_Main()) {
        installed = 1;
        if (PySys_AddAuditHook(nested_import_hook, NULL) < 0) {
            return -1;
        }
    }
#endif
    return 0;
}
