/* The registry of interpreter records: main, the ones the core made, and (unlisted) the
 * ones someone else made in which the core module was imported. */
#include "common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ic_interp *reg_head;

ic_interp *ic_rec_new(int64_t id, PyInterpreterState *interp, const char *name,
                      int isolated, int kind)
{
    ic_interp *rec = calloc(1, sizeof(*rec));
    if (rec == NULL) {
        return NULL;
    }
    rec->name = strdup(name);
    if (rec->name == NULL) {
        free(rec);
        return NULL;
    }
    if (pthread_mutex_init(&rec->ts_mu, NULL) != 0) {
        free(rec->name);
        free(rec);
        return NULL;
    }
    atomic_init(&rec->refs, 1);
    rec->id = id;
    rec->interp = interp;
    rec->isolated = isolated;
    rec->kind = kind;
    return rec;
}

void ic_rec_incref(ic_interp *rec)
{
    atomic_fetch_add(&rec->refs, 1);
}

void ic_rec_decref(ic_interp *rec)
{
    if (atomic_fetch_sub(&rec->refs, 1) == 1) {
        pthread_mutex_destroy(&rec->ts_mu);
        free(rec->name);
        free(rec);
    }
}

void ic_reg_lock(void) { pthread_mutex_lock(&reg_mu); }
void ic_reg_unlock(void) { pthread_mutex_unlock(&reg_mu); }

/* Moves each time a record's pin goes: what a close waiting for pins sleeps on. */
static _Atomic unsigned int unpins;

void ic_rec_unpin(ic_interp *rec)
{
    ic_reg_lock();
    rec->pins--;
    atomic_fetch_add(&unpins, 1);
    ic_reg_unlock();
    ic_word_wake_all(&unpins);
}

unsigned int ic_reg_unpins_locked(void)
{
    return atomic_load(&unpins);
}

void ic_reg_wait_unpin(unsigned int seen, double seconds)
{
    struct timespec rel = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    (void)ic_word_wait(&unpins, seen, &rel);    /* woken, moved, timed out or EINTR */
}
ic_interp *ic_reg_head_locked(void) { return reg_head; }

static ic_interp *find_any_locked(int64_t id)
{
    for (ic_interp *r = reg_head; r != NULL; r = r->next) {
        if (r->id == id) {
            return r;
        }
    }
    return NULL;
}

ic_interp *ic_reg_find_locked(int64_t id)
{
    ic_interp *r = find_any_locked(id);
    return r != NULL && !r->starting && !r->spare ? r : NULL;
}

ic_interp *ic_reg_spare_locked(int64_t id)
{
    ic_interp *r = find_any_locked(id);
    return r != NULL && r->spare && !r->starting && !r->closing ? r : NULL;
}

int ic_reg_usable_locked(int64_t id, ic_interp **out)
{
    ic_interp *r = ic_reg_find_locked(id);
    *out = r;
    if (r == NULL || r->closing) {
        return ic_fail(IC_ERR_NOTFOUND, "interpreter %lld does not exist (closed already?)",
                       (long long)id);
    }
    if (r->kind == IC_KIND_FOREIGN) {
        /* it may end at any time, by its maker's hand: never entered from here */
        return ic_fail(IC_ERR_MAIN, "interpreter %lld was not made by interpcli; use the "
                       "tools that made it", (long long)id);
    }
    return IC_OK;
}

int ic_reg_name_taken_locked(const char *name)
{
    for (ic_interp *r = reg_head; r != NULL; r = r->next) {
        if (!r->spare && strcmp(r->name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

void ic_reg_add_locked(ic_interp *rec)
{
    /* keep creation order: append */
    ic_interp **p = &reg_head;
    while (*p != NULL) {
        p = &(*p)->next;
    }
    rec->next = NULL;
    rec->listed = 1;
    ic_rec_incref(rec);
    *p = rec;
}

void ic_reg_remove_locked(ic_interp *rec)
{
    for (ic_interp **p = &reg_head; *p != NULL; p = &(*p)->next) {
        if (*p == rec) {
            *p = rec->next;
            rec->next = NULL;
            rec->listed = 0;
            ic_rec_decref(rec);
            return;
        }
    }
}

ic_interp *ic_reg_adopt_current(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    int64_t id = PyInterpreterState_GetID(interp);
    int is_main = interp == PyInterpreterState_Main();
    ic_reg_lock();
    ic_interp *r = find_any_locked(id);
    if (r != NULL) {
        ic_rec_incref(r);
        r->modules++;
        ic_reg_unlock();
        return r;
    }
    char name[32];
    if (is_main) {
        snprintf(name, sizeof(name), "main");
    }
    else {
        snprintf(name, sizeof(name), "interp-%lld", (long long)id);
    }
    /* whether a foreign interpreter has its own GIL is not known: -1 */
    r = ic_rec_new(id, interp, name, is_main ? 0 : -1, is_main ? IC_KIND_MAIN : IC_KIND_FOREIGN);
    if (r == NULL) {
        ic_reg_unlock();
        PyErr_NoMemory();
        return NULL;
    }
    r->modules = 1;
    ic_reg_add_locked(r);
    ic_reg_unlock();
    return r;
}

void ic_reg_release_module(ic_interp *rec)
{
    ic_reg_lock();
    int last = --rec->modules == 0 && rec->kind == IC_KIND_FOREIGN;
    if (last) {
        ic_reg_remove_locked(rec);
    }
    ic_reg_unlock();
    if (last) {
        /* the interpreter is ending (or dropped the module): what it lent is settled under
         * its GIL now, as ic_destroy does for the core's own */
        ic_lent_end_of(rec);
    }
    ic_rec_decref(rec);
}
