/*
 * NVTX ranges and marks, and the path mirror (contract in scope.h).
 */
#include "reference-trainer/scope.h"

#include <nvtx3/nvToolsExt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mpt_tr_scope_init(mpt_tr_scope *s)
{
    memset(s, 0, sizeof *s);
}

void mpt_tr_scope_push(mpt_tr_scope *s, const char *name)
{
    nvtxRangePushA(name);
    int cur = (int)strlen(s->path);
    int need = cur + (cur ? 1 : 0) + (int)strlen(name);
    if (s->depth < MPT_TR_SCOPE_MAX_DEPTH) s->len[s->depth] = cur;
    if (s->depth < MPT_TR_SCOPE_MAX_DEPTH && need < MPT_TR_SCOPE_MAX_PATH)
        snprintf(s->path + cur, sizeof s->path - (size_t)cur, "%s%s", cur ? "/" : "", name);
    s->depth++;
}

void mpt_tr_scope_pushf(mpt_tr_scope *s, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    mpt_tr_scope_push(s, name);
}

void mpt_tr_scope_pop(mpt_tr_scope *s)
{
    nvtxRangePop();
    if (s->depth == 0) return;
    s->depth--;
    if (s->depth < MPT_TR_SCOPE_MAX_DEPTH) s->path[s->len[s->depth]] = '\0';
}

void mpt_tr_nvtx_step_begin(int step)
{
    char name[32];
    snprintf(name, sizeof name, "train_step %d", step);
    nvtxRangePushA(name);
}

void mpt_tr_nvtx_step_end(void)
{
    nvtxRangePop();
}

void mpt_tr_nvtx_mark(const char *text)
{
    nvtxMarkA(text);
}
