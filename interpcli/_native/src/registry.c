/* The registry of interpreters created (or adopted) by interpcli. */
#include <string.h>
#include "common.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ic_interp *reg_head;

void ic_reg_lock(void) { pthread_mutex_lock(&reg_mu); }
void ic_reg_unlock(void) { pthread_mutex_unlock(&reg_mu); }
ic_interp *ic_reg_head_locked(void) { return reg_head; }

ic_interp *ic_reg_find_locked(int64_t id)
{
    for (ic_interp *r = reg_head; r != NULL; r = r->next) {
        if (r->id == id) {
            return r;
        }
    }
    return NULL;
}

int ic_reg_name_taken_locked(const char *name)
{
    for (ic_interp *r = reg_head; r != NULL; r = r->next) {
        if (r->name != NULL && strcmp(r->name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

ic_interp *ic_reg_add_locked(ic_interp *rec)
{
    /* keep creation order: append */
    ic_interp **p = &reg_head;
    while (*p != NULL) {
        p = &(*p)->next;
    }
    rec->next = NULL;
    *p = rec;
    return rec;
}

void ic_reg_remove_locked(ic_interp *rec)
{
    for (ic_interp **p = &reg_head; *p != NULL; p = &(*p)->next) {
        if (*p == rec) {
            *p = rec->next;
            return;
        }
    }
}

ic_interp *ic_reg_current(void)
{
    int64_t id = PyInterpreterState_GetID(PyInterpreterState_Get());
    ic_reg_lock();
    ic_interp *r = ic_reg_find_locked(id);
    ic_reg_unlock();
    return r;
}
