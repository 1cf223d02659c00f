/* Signals for scripts in subinterpreters. CPython runs Python signal handlers only in the
 * main thread of the main interpreter, so a script's signal.signal() registers its wish
 * here instead: the core installs a C handler for that signal in the process (PyOS_setsig,
 * at once, from any thread), and a forwarder thread hands every caught signal to each
 * interpreter that asked for it by calling `interpcli._signals_sub._deliver(signum)` there
 * (a thread state of its own attached, as ic_interrupt does). _deliver returns True when the
 * script's handler is signal.default_int_handler: the forwarder then raises
 * KeyboardInterrupt in the running code, as ic_interrupt does (a channel wait ends too). The session posts SIGINT itself (ic_sig_post): the main interpreter keeps its own
 * SIGINT handler. When the last interpreter that wanted a signal lets it go, the previous
 * disposition comes back. */
#include "common.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define IC_NSIG 65          /* signals 1..64 */
#define WORDS 2

typedef struct ic_sigsub {
    struct ic_sigsub *next;
    int64_t id;
    uint64_t want[WORDS];       /* signals it asked for (guarded by mu) */
    uint64_t pending[WORDS];    /* caught or posted, not yet delivered (guarded by mu) */
    uint64_t posted;            /* deliveries asked for (guarded by mu) */
    uint64_t taken;             /* the script's main thread ran Python since: see ic_sig_ack */
} ic_sigsub;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ic_sigsub *subs;
static int nwant[IC_NSIG];
static PyOS_sighandler_t saved[IC_NSIG];
static _Atomic uint64_t caught[WORDS];
static ic_wake wake = {-1, -1};   /* platform_wake.h */
static int started;

static void on_signal(int sig)
{
    int e = errno;
    if (sig > 0 && sig < IC_NSIG) {
        atomic_fetch_or(&caught[sig / 64], (uint64_t)1 << (sig % 64));
    }
    ic_wake_post(&wake);
    errno = e;
}

static ic_sigsub *find_locked(int64_t id, int make)
{
    for (ic_sigsub *s = subs; s != NULL; s = s->next) {
        if (s->id == id) {
            return s;
        }
    }
    if (!make) {
        return NULL;
    }
    ic_sigsub *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->id = id;
        s->next = subs;
        subs = s;
    }
    return s;
}

PyObject *ic_signals_sub(void)
{
    PyObject *name = PyUnicode_FromString("interpcli._signals_sub");
    PyObject *mod = name != NULL ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (mod == NULL) {
        PyErr_Clear();
    }
    return mod;
}

/* Deliver mask's signals to interpreter id (no thread state attached). */
static void deliver(int64_t id, const uint64_t *mask)
{
    ic_reg_lock();
    ic_interp *rec;
    if (ic_reg_usable_locked(id, &rec) != IC_OK) {
        ic_reg_unlock();
        return;
    }
    rec->pins++;
    ic_reg_unlock();
    int keyboard = 0;
    PyThreadState *ts = ic_tstate_new(rec);
    if (ts != NULL) {
        PyEval_RestoreThread(ts);
        PyObject *mod = ic_signals_sub();
        for (int sig = 1; sig < IC_NSIG; sig++) {
            if (!(mask[sig / 64] & ((uint64_t)1 << (sig % 64)))) {
                continue;
            }
            if (mod == NULL) {
                keyboard |= sig == SIGINT;
                continue;
            }
            PyObject *r = PyObject_CallMethod(mod, "_deliver", "i", sig);
            if (r == NULL) {
                PyErr_WriteUnraisable(mod);
            }
            else {
                keyboard |= PyObject_IsTrue(r) == 1;
                Py_DECREF(r);
            }
            PyErr_Clear();
        }
        Py_XDECREF(mod);
        PyErr_Clear();
        /* Raised before this GIL is given back: a sleep that _deliver woke cannot go
         * back to waiting before the exception is there (as ic_interrupt does it). */
        if (keyboard && rec->eval_active) {
            unsigned long tid = rec->eval_tid;
            PyThreadState_SetAsyncExc(tid, PyExc_KeyboardInterrupt);
            atomic_store(&rec->intr_kind, IC_INTR_KEYBOARD);
            atomic_store(&rec->intr_tid, tid);
            atomic_fetch_add(&rec->intr_gen, 1);
        }
        else {
            keyboard = 0;
        }
        ic_tstate_delete_current(rec, ts);
    }
    if (keyboard) {
        ic_chan_wake_all();     /* a channel wait of that thread ends with it */
    }
    ic_rec_unpin(rec);
}

static void *forwarder(void *arg)
{
    (void)arg;
    for (;;) {
        if (ic_wake_wait(&wake) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return NULL;
        }
        uint64_t got[WORDS];
        for (int w = 0; w < WORDS; w++) {
            got[w] = atomic_exchange(&caught[w], 0);
        }
        for (;;) {
            /* one interpreter at a time: deliver() waits for its GIL without mu held */
            int64_t id = -1;
            uint64_t mask[WORDS] = {0, 0};
            pthread_mutex_lock(&mu);
            for (ic_sigsub *s = subs; s != NULL; s = s->next) {
                for (int w = 0; w < WORDS; w++) {
                    s->pending[w] |= got[w] & s->want[w];
                }
            }
            got[0] = got[1] = 0;
            for (ic_sigsub *s = subs; s != NULL && id < 0; s = s->next) {
                if (s->pending[0] | s->pending[1]) {
                    id = s->id;
                    for (int w = 0; w < WORDS; w++) {
                        mask[w] = s->pending[w];
                        s->pending[w] = 0;
                    }
                }
            }
            pthread_mutex_unlock(&mu);
            if (id < 0) {
                break;
            }
            deliver(id, mask);
        }
    }
    return NULL;
}

/* Start the forwarder once (mu held), with every signal blocked in it. */
static int start_locked(void)
{
    if (started) {
        return IC_OK;
    }
    if (ic_wake_open(&wake) != 0) {
        return ic_fail(IC_ERR_INTERNAL, "cannot make a wake-up fd for signals");
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    int rc = pthread_create(&th, NULL, forwarder, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ic_wake_close(&wake);
        return ic_fail(IC_ERR_INTERNAL, "cannot start the signal forwarder thread");
    }
    pthread_detach(th);
    started = 1;
    return IC_OK;
}

/* Interpreter id wants signal sig forwarded to it (on) or no longer (off). SIGINT is
 * recorded but not installed: the main interpreter handles it and posts it. */
int ic_sig_want(int64_t id, int sig, int on)
{
    if (sig < 1 || sig >= IC_NSIG) {
        return ic_fail(IC_ERR_INTERNAL, "signal number out of range");
    }
    uint64_t bit = (uint64_t)1 << (sig % 64);
    pthread_mutex_lock(&mu);
    int rc = start_locked();
    ic_sigsub *s = rc == IC_OK ? find_locked(id, 1) : NULL;
    if (rc == IC_OK && s == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    if (rc == IC_OK && on != ((s->want[sig / 64] & bit) != 0)) {
        if (on && sig != SIGINT && nwant[sig] == 0) {
            PyOS_sighandler_t old = PyOS_setsig(sig, on_signal);
            if (old == SIG_ERR) {
                rc = ic_fail(IC_ERR_INTERNAL, "cannot install a handler for signal %d", sig);
            }
            else {
                saved[sig] = old;
            }
        }
        else if (!on && sig != SIGINT && nwant[sig] == 1) {
            PyOS_setsig(sig, saved[sig]);
        }
        if (rc == IC_OK) {
            nwant[sig] += on ? 1 : -1;
            s->want[sig / 64] ^= bit;
        }
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

/* Deliver sig to interpreter id now, from the calling thread (the session's SIGINT, so
 * that it lands before anything the session does next); no thread state attached. */
int ic_sig_post(int64_t id, int sig)
{
    if (sig < 1 || sig >= IC_NSIG) {
        return ic_fail(IC_ERR_INTERNAL, "signal number out of range");
    }
    pthread_mutex_lock(&mu);
    int rc = start_locked();
    ic_sigsub *s = rc == IC_OK ? find_locked(id, 1) : NULL;
    if (rc == IC_OK && s == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    if (rc == IC_OK) {
        s->posted++;
    }
    pthread_mutex_unlock(&mu);
    if (rc == IC_OK) {
        uint64_t mask[WORDS] = {0, 0};
        mask[sig / 64] = (uint64_t)1 << (sig % 64);
        deliver(id, mask);
    }
    return rc;
}

/* The script's main thread ran Python after the last post (it runs again). */
void ic_sig_ack(int64_t id)
{
    pthread_mutex_lock(&mu);
    ic_sigsub *s = find_locked(id, 0);
    if (s != NULL) {
        s->taken = s->posted;
    }
    pthread_mutex_unlock(&mu);
}

/* 1 when every post to id was followed by Python running on its main thread. */
int ic_sig_taken(int64_t id)
{
    pthread_mutex_lock(&mu);
    ic_sigsub *s = find_locked(id, 0);
    int r = s != NULL && s->taken == s->posted;
    pthread_mutex_unlock(&mu);
    return r;
}

/* Forget interpreter id: its signals go back to what they were when no one else wants them. */
void ic_sig_forget(int64_t id)
{
    pthread_mutex_lock(&mu);
    for (ic_sigsub **p = &subs; *p != NULL; p = &(*p)->next) {
        ic_sigsub *s = *p;
        if (s->id != id) {
            continue;
        }
        for (int sig = 1; sig < IC_NSIG; sig++) {
            if (s->want[sig / 64] & ((uint64_t)1 << (sig % 64))) {
                if (sig != SIGINT && nwant[sig] == 1) {
                    PyOS_setsig(sig, saved[sig]);
                }
                nwant[sig]--;
            }
        }
        *p = s->next;
        free(s);
        break;
    }
    pthread_mutex_unlock(&mu);
}

/* ---------------- module functions ---------------- */

static int64_t current_id(void)
{
    return PyInterpreterState_GetID(PyInterpreterState_Get());
}

static PyObject *mod_signal_want(PyObject *module, PyObject *args)
{
    int sig, on;
    if (!PyArg_ParseTuple(args, "ip:_signal_want", &sig, &on)) {
        return NULL;
    }
    int rc = ic_sig_want(current_id(), sig, on);
    if (rc != IC_OK) {
        PyErr_SetString(PyExc_OSError, ic_errmsg());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_signal_post(PyObject *module, PyObject *args)
{
    long long id;
    int sig;
    if (!PyArg_ParseTuple(args, "Li:_signal_post", &id, &sig)) {
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ic_sig_post(id, sig);
    Py_END_ALLOW_THREADS
    if (rc != IC_OK) {
        PyErr_SetString(PyExc_OSError, ic_errmsg());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_signal_ack(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    ic_sig_ack(current_id());
    Py_RETURN_NONE;
}

static PyObject *mod_signal_taken(PyObject *module, PyObject *args)
{
    long long id;
    if (!PyArg_ParseTuple(args, "L:_signal_taken", &id)) {
        return NULL;
    }
    return PyBool_FromLong(ic_sig_taken(id));
}

static PyObject *mod_signal_forget(PyObject *module, PyObject *args)
{
    long long id;
    if (!PyArg_ParseTuple(args, "L:_signal_forget", &id)) {
        return NULL;
    }
    ic_sig_forget(id);
    Py_RETURN_NONE;
}

static PyMethodDef sig_methods[] = {
    {"_signal_want", mod_signal_want, METH_VARARGS,
     "_signal_want(signum, on)\n--\n\nForward signum to this interpreter (or stop)."},
    {"_signal_post", mod_signal_post, METH_VARARGS,
     "_signal_post(id, signum)\n--\n\nForward signum to interpreter id now."},
    {"_signal_ack", mod_signal_ack, METH_NOARGS,
     "Note that this interpreter's main thread runs Python after a forwarded signal."},
    {"_signal_taken", mod_signal_taken, METH_VARARGS,
     "_signal_taken(id)\n--\n\nTrue when interpreter id took every signal posted to it."},
    {"_signal_forget", mod_signal_forget, METH_VARARGS,
     "_signal_forget(id)\n--\n\nForget interpreter id's signals (restoring dispositions)."},
    {NULL, NULL, 0, NULL},
};

int ic_sigfwd_init(PyObject *module)
{
    return PyModule_AddFunctions(module, sig_methods);
}
