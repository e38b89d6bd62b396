/*
 * SQLite export: the trace as a database, like Nsight Systems' SQLite export — one table per
 * kind of thing, foreign keys by integer id, indexes for the questions people ask (which op
 * first held a NaN, what one layer did over the steps, what ran in one step). The schema and
 * example queries are in docs/export.md; `schema_sql` below is the source of truth.
 *
 * Written in one transaction with prepared statements (journal off: a failed export leaves a
 * file to delete, not a database to repair); the file is replaced if it exists. Layers are
 * interned into their own table per name, so "WHERE layer = ..." is an integer comparison.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/export.h"
#include "analyzer/report.h"

static const char schema_sql[] =
    "CREATE TABLE sources(id INTEGER PRIMARY KEY, path TEXT, rank INTEGER, pid INTEGER,"
    " hostname TEXT, cmdline TEXT, start_realtime_ns INTEGER, mono_origin_ns INTEGER,"
    " state TEXT, end_how TEXT, exit_status INTEGER);\n"
    "CREATE TABLE layers(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, phase TEXT);\n"
    "CREATE TABLE ops(id INTEGER PRIMARY KEY, source INTEGER REFERENCES sources(id),"
    " seq INTEGER, ts_ns INTEGER, step INTEGER, tid INTEGER, stream INTEGER, ordinal INTEGER,"
    " layer_id INTEGER REFERENCES layers(id), api TEXT, callsite TEXT, m INTEGER, n INTEGER,"
    " k INTEGER, batch INTEGER, transa INTEGER, transb INTEGER, dtype_a TEXT, dtype_b TEXT,"
    " dtype_c TEXT, dtype_d TEXT, compute TEXT, epilogue TEXT, flags INTEGER, level TEXT,"
    " skip_reason TEXT, alpha REAL, beta REAL);\n"
    "CREATE TABLE tensors(id INTEGER PRIMARY KEY, op_id INTEGER REFERENCES ops(id),"
    " event_id INTEGER REFERENCES events(id), source INTEGER, seq INTEGER, role TEXT,"
    " dtype TEXT, level TEXT, rows INTEGER, cols INTEGER, matrices INTEGER, count INTEGER,"
    " nan INTEGER, inf INTEGER, absmax REAL, pinf INTEGER, ninf INTEGER, zero INTEGER,"
    " subnormal INTEGER, min REAL, max REAL, min_nonzero_abs REAL, sum REAL, sumsq REAL,"
    " fp16_overflow INTEGER, fp16_subnormal INTEGER, fp16_flush INTEGER, bf16_overflow INTEGER,"
    " bf16_subnormal INTEGER, bf16_flush INTEGER, e4m3_overflow INTEGER, e4m3_subnormal INTEGER,"
    " e4m3_flush INTEGER, e5m2_overflow INTEGER, e5m2_subnormal INTEGER, e5m2_flush INTEGER);\n"
    "CREATE TABLE precision(op_id INTEGER REFERENCES ops(id), source INTEGER, seq INTEGER,"
    " dtype TEXT, samples INTEGER, max_rel_err REAL, mean_rel_err REAL, max_ulp_err REAL,"
    " mean_ulp_err REAL, underflow INTEGER, overflow INTEGER, max_exact_abs REAL);\n"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, source INTEGER, seq INTEGER, ts_ns INTEGER,"
    " step INTEGER, tid INTEGER, stream INTEGER, kind TEXT, name TEXT, bytes INTEGER,"
    " dst INTEGER, src INTEGER, grid_x INTEGER, grid_y INTEGER, grid_z INTEGER, block_x INTEGER,"
    " block_y INTEGER, block_z INTEGER);\n"
    "CREATE TABLE steps(source INTEGER, step INTEGER, begin_ns INTEGER, end_ns INTEGER,"
    " loss REAL, scale REAL, skip INTEGER, skip_inferred INTEGER, grad_norm REAL, lr REAL,"
    " PRIMARY KEY(source, step));\n"
    "CREATE TABLE scalars(source INTEGER, step INTEGER, ts_ns INTEGER, key TEXT, value REAL,"
    " inferred INTEGER);\n"
    "CREATE TABLE ranges(source INTEGER, ts_ns INTEGER, tid INTEGER, kind TEXT, domain TEXT,"
    " name TEXT, range_id INTEGER);\n"
    "CREATE TABLE messages(source INTEGER, ts_ns INTEGER, tid INTEGER, level TEXT, text TEXT);\n";

static const char index_sql[] =
    "CREATE INDEX ops_step ON ops(step);\n"
    "CREATE INDEX ops_layer ON ops(layer_id, step);\n"
    "CREATE UNIQUE INDEX ops_seq ON ops(source, seq);\n"
    "CREATE INDEX tensors_op ON tensors(op_id, role);\n"
    "CREATE INDEX tensors_nonfinite ON tensors(op_id) WHERE nan > 0 OR inf > 0;\n"
    "CREATE INDEX precision_op ON precision(op_id);\n"
    "CREATE INDEX events_step ON events(step);\n"
    "CREATE INDEX events_seq ON events(source, seq);\n"
    "CREATE INDEX scalars_key ON scalars(key, step);\n";

enum {
    S_SOURCE,
    S_LAYER,
    S_OP,
    S_TENSOR,
    S_PREC,
    S_EVENT,
    S_STEP_TS,
    S_STEP_VAL,
    S_SCALAR,
    S_RANGE,
    S_MESSAGE,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_SOURCE] = "INSERT INTO sources VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [S_LAYER] = "INSERT INTO layers(name, phase) VALUES(?,?)",
    [S_OP] = "INSERT INTO ops VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_TENSOR] = "INSERT INTO tensors VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                 "?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_PREC] = "INSERT INTO precision VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_EVENT] = "INSERT INTO events VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_STEP_TS] = "INSERT INTO steps(source, step, begin_ns, end_ns) VALUES(?1,?2,?3,?4) "
                  "ON CONFLICT(source, step) DO UPDATE SET begin_ns = coalesce(?3, begin_ns),"
                  " end_ns = coalesce(?4, end_ns)",
    [S_STEP_VAL] = "INSERT INTO steps(source, step) VALUES(?1,?2) ON CONFLICT DO NOTHING",
    [S_SCALAR] = "INSERT INTO scalars VALUES(?,?,?,?,?,?)",
    [S_RANGE] = "INSERT INTO ranges VALUES(?,?,?,?,?,?,?)",
    [S_MESSAGE] = "INSERT INTO messages VALUES(?,?,?,?,?)",
};

typedef struct db {
    sqlite3 *h;
    sqlite3_stmt *st[S_COUNT];
    sqlite3_stmt *layer_find;
    char *err;
    size_t errlen;
} db;

static int fail(db *d, const char *what)
{
    snprintf(d->err, d->errlen, "sqlite: %s: %s", what, d->h ? sqlite3_errmsg(d->h) : "no db");
    return -1;
}

/* Binds a list of values: i (int64), u (uint64 as int64), d (double, NULL when NaN? no: SQLite
 * stores NaN as NULL itself), s (text), n (null). */
static int run(db *d, int which)
{
    sqlite3_stmt *s = d->st[which];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : fail(d, stmt_sql[which]);
}

#define BI(s, i, v) sqlite3_bind_int64(s, i, (sqlite3_int64)(v))
#define BD(s, i, v) sqlite3_bind_double(s, i, v)
#define BT(s, i, v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)

static int64_t layer_id(db *d, const char *name)
{
    sqlite3_stmt *f = d->layer_find;
    BT(f, 1, name);
    int64_t id = 0;
    if (sqlite3_step(f) == SQLITE_ROW) id = sqlite3_column_int64(f, 0);
    sqlite3_reset(f);
    if (id) return id;
    sqlite3_stmt *s = d->st[S_LAYER];
    BT(s, 1, name);
    BT(s, 2, mpt_phase_name(mpt_phase_of(name)));
    if (run(d, S_LAYER) != 0) return -1;
    return sqlite3_last_insert_rowid(d->h);
}

static int put_op(db *d, mpt_export_walker *w, int src, const mpt_trace_gemm *g)
{
    mpt_export_op *op = mpt_export_op_of(w, g->seq);
    int64_t lid = layer_id(d, op ? op->layer : "");
    if (lid < 0) return -1;
    sqlite3_stmt *s = d->st[S_OP];
    int i = 1;
    BI(s, i++, src);
    BI(s, i++, g->seq);
    BI(s, i++, g->ts_ns);
    BI(s, i++, g->step);
    BI(s, i++, g->tid);
    BI(s, i++, g->stream);
    BI(s, i++, g->ordinal);
    BI(s, i++, lid);
    BT(s, i++, mpt_export_string(w, g->api));
    BT(s, i++, mpt_export_string(w, g->callsite));
    BI(s, i++, g->m);
    BI(s, i++, g->n);
    BI(s, i++, g->k);
    BI(s, i++, g->batch);
    BI(s, i++, g->transa);
    BI(s, i++, g->transb);
    BT(s, i++, mpt_dtype_name(g->dtype_a));
    BT(s, i++, mpt_dtype_name(g->dtype_b));
    BT(s, i++, mpt_dtype_name(g->dtype_c));
    BT(s, i++, mpt_dtype_name(g->dtype_d));
    BT(s, i++, mpt_compute_type_name(g->compute));
    BT(s, i++, mpt_epilogue_name(g->epilogue));
    BI(s, i++, g->flags);
    BT(s, i++, mpt_stat_level_name(g->level));
    BT(s, i++, mpt_skip_reason_name(g->skip));
    BD(s, i++, g->alpha);
    BD(s, i++, g->beta);
    if (run(d, S_OP) != 0) return -1;
    if (op) op->user_id = sqlite3_last_insert_rowid(d->h);
    return 0;
}

static int put_tensor(db *d, mpt_export_walker *w, int src, const mpt_trace_tensor *t)
{
    const mpt_export_op *op = mpt_export_op_of(w, t->info.seq);
    sqlite3_stmt *s = d->st[S_TENSOR];
    int i = 1;
    if (op && !op->is_memory && op->user_id) BI(s, i, op->user_id);
    i++;
    if (op && op->is_memory && op->user_id) BI(s, i, op->user_id);
    i++;
    BI(s, i++, src);
    BI(s, i++, t->info.seq);
    BT(s, i++, mpt_report_role_name(t->info.role));
    BT(s, i++, mpt_dtype_name(t->info.dtype));
    BT(s, i++, t->level == MPT_LEVEL_FULL ? "full" : "cheap");
    BI(s, i++, t->info.rows);
    BI(s, i++, t->info.cols);
    BI(s, i++, t->info.batch);
    BI(s, i++, t->cheap.count);
    BI(s, i++, t->cheap.nan);
    BI(s, i++, t->cheap.inf);
    BD(s, i++, t->cheap.absmax);
    if (t->level == MPT_LEVEL_FULL) {
        const mpt_stats *f = &t->full;
        BI(s, i++, f->pinf);
        BI(s, i++, f->ninf);
        BI(s, i++, f->zero);
        BI(s, i++, f->subnormal);
        BD(s, i++, f->min);
        BD(s, i++, f->max);
        BD(s, i++, f->min_nonzero_abs);
        BD(s, i++, f->sum);
        BD(s, i++, f->sumsq);
        for (int k = 0; k < MPT_NARROW_COUNT; k++) {
            BI(s, i++, f->narrow[k].overflow);
            BI(s, i++, f->narrow[k].subnormal);
            BI(s, i++, f->narrow[k].flush);
        }
    }
    return run(d, S_TENSOR);
}

static int put_precision(db *d, mpt_export_walker *w, int src, const mpt_trace_precision *p)
{
    const mpt_export_op *op = mpt_export_op_of(w, p->seq);
    sqlite3_stmt *s = d->st[S_PREC];
    if (op && !op->is_memory && op->user_id) BI(s, 1, op->user_id);
    BI(s, 2, src);
    BI(s, 3, p->seq);
    BT(s, 4, mpt_dtype_name(p->dtype));
    BI(s, 5, p->samples);
    BD(s, 6, p->max_rel_err);
    BD(s, 7, p->mean_rel_err);
    BD(s, 8, p->max_ulp_err);
    BD(s, 9, p->mean_ulp_err);
    BI(s, 10, p->underflow);
    BI(s, 11, p->overflow);
    BD(s, 12, p->max_exact_abs);
    return run(d, S_PREC);
}

static int put_event(db *d, mpt_export_walker *w, int src, const mpt_trace_record *r)
{
    sqlite3_stmt *s = d->st[S_EVENT];
    int i = 1;
    BI(s, i++, src);
    if (r->type == MPT_REC_KERNEL) {
        const mpt_trace_kernel *k = &r->u.kernel;
        BI(s, i++, k->seq);
        BI(s, i++, k->ts_ns);
        BI(s, i++, k->step);
        BI(s, i++, k->tid);
        BI(s, i++, k->stream);
        BT(s, i++, "kernel");
        BT(s, i++, mpt_export_string(w, k->name));
        i += 3; /* bytes, dst, src */
        for (int a = 0; a < 3; a++)
            BI(s, i++, k->grid[a]);
        for (int a = 0; a < 3; a++)
            BI(s, i++, k->block[a]);
    } else {
        const mpt_trace_memory *m = &r->u.memory;
        BI(s, i++, m->seq);
        BI(s, i++, m->ts_ns);
        BI(s, i++, m->step);
        BI(s, i++, m->tid);
        BI(s, i++, m->stream);
        BT(s, i++,
           m->kind == MPT_MEM_MEMSET  ? "memset"
           : m->kind == MPT_MEM_ALLOC ? "alloc"
           : m->kind == MPT_MEM_FREE  ? "free"
                                      : "memcpy");
        BT(s, i++, mpt_mem_kind_name(m->kind));
        BI(s, i++, m->bytes);
        BI(s, i++, m->dst);
        BI(s, i++, m->src);
    }
    if (run(d, S_EVENT) != 0) return -1;
    uint64_t seq = r->type == MPT_REC_KERNEL ? r->u.kernel.seq : r->u.memory.seq;
    mpt_export_op *op = mpt_export_op_of(w, seq);
    if (op && op->is_memory) op->user_id = sqlite3_last_insert_rowid(d->h);
    return 0;
}

static int put_scalar(db *d, mpt_export_walker *w, int src, const mpt_trace_scalar *sc)
{
    const char *key = mpt_export_string(w, sc->key);
    sqlite3_stmt *s = d->st[S_SCALAR];
    BI(s, 1, src);
    BI(s, 2, sc->step);
    BI(s, 3, sc->ts_ns);
    BT(s, 4, key);
    BD(s, 5, sc->value);
    BI(s, 6, (sc->flags & MPT_SCALAR_INFERRED) != 0);
    if (run(d, S_SCALAR) != 0) return -1;
    if (sc->step < 0) return 0;
    /* the steps table keeps the well-known keys as columns */
    static const char *const cols[] = {"loss", "scale", "grad_norm", "lr"};
    const char *col = NULL;
    for (size_t k = 0; k < sizeof cols / sizeof *cols; k++)
        if (strcmp(key, cols[k]) == 0) col = cols[k];
    int skip = strcmp(key, "skip") == 0;
    if (!col && !skip) return 0;
    s = d->st[S_STEP_VAL];
    BI(s, 1, src);
    BI(s, 2, sc->step);
    if (run(d, S_STEP_VAL) != 0) return -1;
    char sql[160];
    if (skip)
        snprintf(sql, sizeof sql,
                 "UPDATE steps SET %s = max(coalesce(%s, 0), ?1) WHERE source = ?2 "
                 "AND step = ?3",
                 (sc->flags & MPT_SCALAR_INFERRED) ? "skip_inferred" : "skip",
                 (sc->flags & MPT_SCALAR_INFERRED) ? "skip_inferred" : "skip");
    else
        snprintf(sql, sizeof sql, "UPDATE steps SET %s = ?1 WHERE source = ?2 AND step = ?3", col);
    sqlite3_stmt *u;
    if (sqlite3_prepare_v2(d->h, sql, -1, &u, NULL) != SQLITE_OK) return fail(d, sql);
    if (skip)
        BI(u, 1, sc->value != 0);
    else
        BD(u, 1, sc->value);
    BI(u, 2, src);
    BI(u, 3, sc->step);
    int rc = sqlite3_step(u);
    sqlite3_finalize(u);
    return rc == SQLITE_DONE ? 0 : fail(d, sql);
}

static int put_record(db *d, mpt_export_walker *w, int src, const mpt_trace_record *r)
{
    sqlite3_stmt *s;
    switch (r->type) {
    case MPT_REC_GEMM:
        return put_op(d, w, src, &r->u.gemm);
    case MPT_REC_TENSOR:
        return put_tensor(d, w, src, &r->u.tensor);
    case MPT_REC_PRECISION:
        return put_precision(d, w, src, &r->u.precision);
    case MPT_REC_KERNEL:
    case MPT_REC_MEMORY:
        return put_event(d, w, src, r);
    case MPT_REC_SCALAR:
        return put_scalar(d, w, src, &r->u.scalar);
    case MPT_REC_STEP:
        s = d->st[S_STEP_TS];
        BI(s, 1, src);
        BI(s, 2, r->u.step.step);
        BI(s, r->u.step.phase == MPT_STEP_BEGIN ? 3 : 4, r->u.step.ts_ns);
        return run(d, S_STEP_TS);
    case MPT_REC_RANGE:
        s = d->st[S_RANGE];
        BI(s, 1, src);
        BI(s, 2, r->u.range.ts_ns);
        BI(s, 3, r->u.range.tid);
        BT(s, 4, mpt_range_kind_name(r->u.range.kind));
        BT(s, 5, mpt_export_string(w, r->u.range.domain));
        BT(s, 6, mpt_export_string(w, r->u.range.name));
        BI(s, 7, r->u.range.range_id);
        return run(d, S_RANGE);
    case MPT_REC_MESSAGE:
        s = d->st[S_MESSAGE];
        BI(s, 1, src);
        BI(s, 2, r->u.message.ts_ns);
        BI(s, 3, r->u.message.tid);
        BT(s, 4, mpt_msg_level_name(r->u.message.level));
        BT(s, 5, r->u.message.text);
        return run(d, S_MESSAGE);
    default:
        return 0;
    }
}

static int put_sources(db *d, mpt_export_walker *w)
{
    for (int i = 0; i < mpt_export_nsources(w); i++) {
        const mpt_source *so = mpt_export_source(w, i);
        sqlite3_stmt *s = d->st[S_SOURCE];
        BI(s, 1, i);
        BT(s, 2, so->path);
        BI(s, 3, so->rank);
        BI(s, 4, so->pid);
        BT(s, 5, so->hostname);
        BT(s, 6, so->cmdline);
        BI(s, 7, so->start_realtime_ns);
        BI(s, 8, so->mono_origin_ns);
        BT(s, 9, mpt_report_source_state(so->state));
        if (so->ended) BT(s, 10, mpt_end_how_name(so->end_how));
        if (so->ended && so->end_how == MPT_END_EXIT) BI(s, 11, so->end_status);
        if (run(d, S_SOURCE) != 0) return -1;
    }
    return 0;
}

int mpt_export_sqlite(mpt_export_walker *w, const char *path, char *err, size_t errlen)
{
    db d = {.err = err, .errlen = errlen};
    unlink(path); /* replace, never append to an old export */
    if (sqlite3_open(path, &d.h) != SQLITE_OK) {
        fail(&d, path);
        sqlite3_close(d.h);
        return -1;
    }
    int rc = -1;
    if (sqlite3_exec(d.h, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(d.h, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        fail(&d, "creating the schema");
        goto out;
    }
    for (int i = 0; i < S_COUNT; i++)
        if (sqlite3_prepare_v2(d.h, stmt_sql[i], -1, &d.st[i], NULL) != SQLITE_OK) {
            fail(&d, stmt_sql[i]);
            goto out;
        }
    if (sqlite3_prepare_v2(d.h, "SELECT id FROM layers WHERE name = ?", -1, &d.layer_find, NULL) !=
        SQLITE_OK) {
        fail(&d, "layers");
        goto out;
    }
    const mpt_trace_record *r;
    int src;
    while (mpt_export_next(w, &r, &src))
        if (put_record(&d, w, src, r) != 0) goto out;
    /* sources last: their final state (complete, truncated, ...) is known only now */
    if (put_sources(&d, w) != 0) goto out;
    if (sqlite3_exec(d.h, index_sql, NULL, NULL, NULL) != SQLITE_OK) {
        fail(&d, "creating the indexes");
        goto out;
    }
    if (sqlite3_exec(d.h, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
        fail(&d, "commit");
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(d.st[i]);
    sqlite3_finalize(d.layer_find);
    sqlite3_close(d.h);
    return rc;
}
