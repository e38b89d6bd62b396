/*
 * What NVTX tells the interposer, independent of how it arrived (nvtx_injection.c):
 *
 *  - each thread's stack of default-domain ranges, kept as a '/'-joined path. A range whose name
 *    matches the step pattern (MPTRACE_STEP_PATTERN) is the step: it begins and ends steps
 *    (step_detect.c), and the layer path of a GEMM is the part of the path INSIDE the step range
 *    ("fwd/blk3/attn/qkv" under "train_step 7"), so that a layer has the same name every step;
 *  - marks "mptrace:key=value ..." (docs/nvtx-conventions.md): SCALAR records for every key but
 *    `step`, which names the step they belong to;
 *  - every push, pop, mark, start and end as a RANGE record (for exports and timelines).
 * Ranges of other domains are recorded but do not form layer paths (libraries such as NCCL
 * push their own).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/ipx.h"

int mpt_ipx_mark_parse(const char *text, mpt_ipx_kv *out, int max)
{
    static const char prefix[] = "mptrace:";
    if (!text || strncmp(text, prefix, sizeof prefix - 1) != 0) return -1;
    const char *p = text + sizeof prefix - 1;
    int n = 0;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == ';')
            p++;
        if (!*p) break;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t' && *p != ',' && *p != ';')
            p++;
        size_t klen = (size_t)(p - key);
        if (*p != '=') continue; /* a bare word: ignored */
        p++;
        char *end;
        double v = strtod(p, &end);
        int number = end != p && (*end == '\0' || *end == ' ' || *end == '\t' || *end == ',' ||
                                  *end == ';');
        while (*end && *end != ' ' && *end != '\t' && *end != ',' && *end != ';')
            end++;
        p = end;
        if (!number || klen == 0 || klen >= sizeof out[n].key) continue;
        memcpy(out[n].key, key, klen);
        out[n].key[klen] = '\0';
        out[n].value = v;
        n++;
    }
    return n;
}

/* ---- records ----------------------------------------------------------------------------------- */

static void write_range(mpt_range_kind kind, uint32_t tid, const char *name, uint32_t domain_id,
                        uint64_t range_id, const char *domain_name)
{
    uint32_t gen;
    mpt_trace_writer *w = mpt_ipx_writer(&gen);
    if (!w) return;
    (void)domain_id;
    mpt_trace_range r = {
        .ts_ns = mpt_trace_now_ns(),
        .tid = tid,
        .kind = kind,
        .domain = domain_name ? mpt_trace_writer_intern(w, domain_name) : 0,
        .name = name ? mpt_trace_writer_intern(w, name) : 0,
        .range_id = range_id,
    };
    mpt_trace_writer_range(w, &r);
}

/* Domain names, by the small ids nvtx_injection.c hands out (0: default domain). */
#define MAX_DOMAINS 256
static _Atomic(const char *) domain_names[MAX_DOMAINS];

uint32_t mpt_ipx_nvtx_domain_register(const char *name)
{
    static atomic_uint next = 1;
    unsigned id = atomic_fetch_add(&next, 1);
    if (id >= MAX_DOMAINS) return MAX_DOMAINS - 1; /* shared "other" slot */
    char *copy = strdup(name ? name : "");
    atomic_store(&domain_names[id], copy);
    return id;
}

static const char *domain_name(uint32_t id)
{
    return id && id < MAX_DOMAINS ? atomic_load(&domain_names[id]) : NULL;
}

/* ---- push / pop -------------------------------------------------------------------------------- */

static void path_append(mpt_ipx_thread *t, const char *name)
{
    size_t cur = strlen(t->path);
    size_t add = name ? strlen(name) : 0;
    if (t->depth <= MPT_IPX_NVTX_DEPTH) t->len_at[t->depth - 1] = (uint16_t)cur;
    if (!name || t->depth > MPT_IPX_NVTX_DEPTH || cur + add + 2 > sizeof t->path) return;
    if (cur) t->path[cur++] = '/';
    memcpy(t->path + cur, name, add + 1);
}

void mpt_ipx_nvtx_push(const char *name, uint32_t domain_id)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || !mpt_ipx_active()) return;
    write_range(MPT_RANGE_PUSH, t->tid, name, domain_id, 0, domain_name(domain_id));
    if (domain_id != 0) return;
    t->depth++;
    t->path_version++;
    int64_t number;
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (t->step_depth < 0 && name && mpt_ipx_step_match(&cfg->step_re, name, &number)) {
        /* The step range: the layer path restarts inside it. */
        t->step_depth = t->depth - 1;
        if (t->depth <= MPT_IPX_NVTX_DEPTH) t->len_at[t->depth - 1] = (uint16_t)strlen(t->path);
        t->step_path_len = (uint16_t)strlen(t->path);
        mpt_ipx_steps_range_begin(name, number, t->tid);
        return;
    }
    path_append(t, name);
}

void mpt_ipx_nvtx_pop(uint32_t domain_id)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || !mpt_ipx_active()) return;
    write_range(MPT_RANGE_POP, t->tid, NULL, domain_id, 0, domain_name(domain_id));
    if (domain_id != 0 || t->depth == 0) return;
    t->depth--;
    t->path_version++;
    if (t->depth < MPT_IPX_NVTX_DEPTH) t->path[t->len_at[t->depth]] = '\0';
    if (t->depth == t->step_depth) {
        t->step_depth = -1;
        mpt_ipx_steps_range_end(t->tid);
    }
}

const char *mpt_ipx_layer_path(const mpt_ipx_thread *t)
{
    if (t->step_depth < 0) return t->path;
    const char *p = t->path + t->step_path_len;
    return *p == '/' ? p + 1 : p;
}

/* ---- marks ------------------------------------------------------------------------------------- */

void mpt_ipx_nvtx_mark(const char *text, uint32_t domain_id)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || !mpt_ipx_active()) return;
    write_range(MPT_RANGE_MARK, t->tid, text, domain_id, 0, domain_name(domain_id));
    mpt_ipx_kv kv[32];
    int n = mpt_ipx_mark_parse(text, kv, 32);
    if (n <= 0) return;
    int64_t step = -2;
    for (int i = 0; i < n; i++)
        if (!strcmp(kv[i].key, "step") && isfinite(kv[i].value) && kv[i].value >= 0 &&
            kv[i].value < 9.0e18)
            step = (int64_t)kv[i].value;
    if (step >= 0) mpt_ipx_steps_mark(step, t->tid);
    if (step < 0) step = mpt_ipx_steps_current();
    uint32_t gen;
    mpt_trace_writer *w = mpt_ipx_writer(&gen);
    if (!w) return;
    uint64_t ts = mpt_trace_now_ns();
    for (int i = 0; i < n; i++) {
        if (!strcmp(kv[i].key, "step")) continue;
        mpt_trace_scalar s = {step, ts, mpt_trace_writer_intern(w, kv[i].key), 0, kv[i].value};
        mpt_trace_writer_scalar(w, &s);
    }
}

/* ---- start / end (may cross threads) ----------------------------------------------------------- */

static atomic_uint_fast64_t step_range_id; /* the start/end range that is the current step */

void mpt_ipx_nvtx_start(const char *name, uint64_t id, uint32_t domain_id)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || !mpt_ipx_active()) return;
    write_range(MPT_RANGE_START, t->tid, name, domain_id, id, domain_name(domain_id));
    int64_t number;
    if (domain_id == 0 && name && atomic_load(&step_range_id) == 0 &&
        mpt_ipx_step_match(&mpt_ipx_config_get()->step_re, name, &number)) {
        atomic_store(&step_range_id, id);
        mpt_ipx_steps_range_begin(name, number, t->tid);
    }
}

void mpt_ipx_nvtx_end(uint64_t id, uint32_t domain_id)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || !mpt_ipx_active()) return;
    write_range(MPT_RANGE_END, t->tid, NULL, domain_id, id, domain_name(domain_id));
    uint_fast64_t expect = id;
    if (id && atomic_compare_exchange_strong(&step_range_id, &expect, 0))
        mpt_ipx_steps_range_end(t->tid);
}
