/* The thread states the core makes and deletes in an interpreter, one at a time.
 *
 * 3.13 (Python/pystate.c): an interpreter with no thread state left hands its built-in
 * first thread state (interp->_initial_thread) to the next PyThreadState_New. Deleting
 * that thread state unlinks it under the runtime's HEAD lock but resets the slot only
 * afterwards (free_threadstate, after the GIL is released): a PyThreadState_New in
 * between finds the interpreter empty and the slot still initialized, and the process
 * aborts ("init_threadstate: thread state already initialized"). A run ending while an
 * interrupt attaches to deliver its exception did it. Every PyThreadState_New and every
 * deletion the core does for an interpreter therefore holds the record's ts_mu, so no
 * thread state is made while one of ours is half deleted. Only the core's thread states
 * can take the slot (a thread the interpreter's code starts gets its thread state from
 * its live parent: the interpreter is not empty then), so only the core's deletions can
 * leave it half reset. 3.12 never frees an interpreter's first thread state before the end
 * (IC_KEEP_HOME); 3.14 hands the slot out atomically. The lock costs both nothing.
 *
 * No GIL is waited for while ts_mu is held: PyThreadState_New needs none, and
 * PyThreadState_DeleteCurrent only releases the caller's. PyThreadState_Clear, which can
 * run finalizers (Python code that may interrupt this very interpreter), runs before the
 * lock is taken. */
#include "common.h"

PyThreadState *ic_tstate_new(ic_interp *rec)
{
    pthread_mutex_lock(&rec->ts_mu);
    PyThreadState *ts = PyThreadState_New(rec->interp);
    pthread_mutex_unlock(&rec->ts_mu);
    return ts;
}

void ic_tstate_delete_current(ic_interp *rec, PyThreadState *ts)
{
    PyThreadState_Clear(ts);
    pthread_mutex_lock(&rec->ts_mu);
    PyThreadState_DeleteCurrent();
    pthread_mutex_unlock(&rec->ts_mu);
}
