/*
 * The exports against the trace they came from: CSV (RFC 4180 read back: one row per TENSOR
 * record, every row as wide as the header, names with commas, quotes and line breaks intact),
 * JSON lines (each line strict JSON, one per TENSOR record), the Chrome trace (strict JSON;
 * per thread, B/E ranges balanced and every slice inside its enclosing range; counters for
 * loss, scale and non-finite values), and SQLite (row counts per table, the indexes, and the
 * example queries of docs/export.md answering what the trace says).
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/export.h"
#include "core/trace_reader.h"
#include "core/trace_writer.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/test_analyzer_synth.h"
#include "tests/unit/trace_samples.h"

static void synth(char *path, size_t n, int overflow_step)
{
    syn_opts o;
    syn_defaults(&o);
    o.steps = 25;
    o.overflow_step = overflow_step;
    char err[256];
    mpt_test_tmpfile(path, n, "export");
    MPT_CHECK(syn_write(&o, path, err, sizeof err) == 0, "%s", err);
}

static uint64_t count_records(const char *path, mpt_record_type type)
{
    char err[256];
    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    static mpt_trace_record rec;
    uint64_t n = 0;
    while (mpt_trace_reader_next(r, &rec) == MPT_TRACE_RECORD)
        n += rec.type == type;
    mpt_trace_reader_close(r);
    return n;
}

typedef int (*export_fn)(mpt_export_walker *, FILE *, char *, size_t);

static char *export_text(const char *path, export_fn fn, size_t *len)
{
    char err[512];
    char *p = (char *)path;
    mpt_export_walker *w = mpt_export_open(&p, 1, err, sizeof err);
    MPT_CHECK(w != NULL, "%s", err);
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    MPT_CHECK(fn(w, f, err, sizeof err) == 0, "%s", err);
    fclose(f);
    mpt_export_close(w);
    return buf;
}

/* Splits one CSV record (RFC 4180) starting at *p; fields are unquoted copies. */
static int csv_record(const char **p, char fields[][256], int max)
{
    int n = 0;
    const char *s = *p;
    for (;;) {
        char *o = fields[n];
        size_t k = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"') {
                    o[k++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    o[k++] = *s++;
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\n')
                o[k++] = *s++;
        }
        o[k] = '\0';
        n++;
        if (*s == ',' && n < max) {
            s++;
            continue;
        }
        if (*s == '\n') s++;
        break;
    }
    *p = s;
    return n;
}

START_TEST(test_export_csv_and_jsonl)
{
    char path[256];
    synth(path, sizeof path, 20);
    uint64_t tensors = count_records(path, MPT_REC_TENSOR);
    size_t len;
    char *csv = export_text(path, mpt_export_csv, &len);
    static char f[64][256];
    const char *p = csv;
    int ncols = csv_record(&p, f, 64);
    ck_assert_int_eq(ncols, 47);
    ck_assert_str_eq(f[3], "layer");
    uint64_t rows = 0, found = 0;
    while (*p) {
        int n = csv_record(&p, f, 64);
        MPT_CHECK(n == ncols, "row %llu has %d fields", (unsigned long long)rows, n);
        rows++;
        /* the overflowing output: step 20, fwd/blk1/attn/scores, role C, 37 Inf */
        if (strcmp(f[3], "fwd/blk1/attn/scores") == 0 && strcmp(f[2], "20") == 0 &&
            strcmp(f[16], "C") == 0) {
            ck_assert_str_eq(f[24], "37");
            ck_assert_str_eq(f[18], "full");
            ck_assert_str_eq(f[4], "cublasGemmStridedBatchedEx");
            found++;
        }
    }
    ck_assert_uint_eq(rows, tensors);
    ck_assert_uint_eq(found, 1);
    free(csv);

    char *jl = export_text(path, mpt_export_jsonl, &len);
    rows = 0;
    for (char *line = jl, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        char err[128];
        jv *v = jv_parse(line, (size_t)(nl - line), err, sizeof err);
        MPT_CHECK(v != NULL, "line %llu: %s", (unsigned long long)rows, err);
        ck_assert_ptr_nonnull(jv_str(v, "role"));
        if (jv_str(v, "layer") && strcmp(jv_str(v, "layer"), "fwd/blk1/attn/scores") == 0 &&
            jv_num(v, "step") == 20 && strcmp(jv_str(v, "role"), "C") == 0) {
            ck_assert(jv_num(v, "inf") == 37);
            ck_assert_ptr_nonnull(jv_path(v, "narrow.fp16.flush"));
            ck_assert_ptr_nonnull(jv_path(v, "hist[0]"));
        }
        jv_free(v);
        rows++;
    }
    ck_assert_uint_eq(rows, tensors);
    free(jl);
    unlink(path);
}
END_TEST

/* Names with a comma, a quote, a line break and invalid UTF-8 survive both row formats. */
START_TEST(test_export_awkward_names)
{
    char path[256], err[256];
    mpt_test_tmpfile(path, sizeof path, "export_names");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    const char *name = "blk,\"0\"\nattn \xff";
    mpt_trace_gemm g = {
        .seq = 1, .step = 0, .layer = mpt_trace_writer_intern(w, name), .dtype_d = MPT_DT_F16};
    mpt_trace_writer_gemm(w, &g);
    mpt_trace_tensor_info ti = {
        .seq = 1, .role = MPT_ROLE_D, .dtype = MPT_DT_F16, .rows = 1, .cols = 1, .batch = 1};
    mpt_cheap_stats c = {1, 0, 0, 2.0};
    mpt_trace_writer_tensor_cheap(w, &ti, &c);
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);
    size_t len;
    char *csv = export_text(path, mpt_export_csv, &len);
    static char f[64][256];
    const char *p = csv;
    csv_record(&p, f, 64);
    ck_assert_int_eq(csv_record(&p, f, 64), 47);
    ck_assert_str_eq(f[3], name);
    free(csv);
    char *jl = export_text(path, mpt_export_jsonl, &len);
    jv *v = jv_parse(jl, len, err, sizeof err);
    MPT_CHECK(v != NULL, "%s", err);
    ck_assert_str_eq(jv_str(v, "layer"), "blk,\"0\"\nattn \xef\xbf\xbd");
    jv_free(v);
    free(jl);
    unlink(path);
}
END_TEST

START_TEST(test_export_chrome)
{
    char path[256];
    synth(path, sizeof path, 20);
    size_t len;
    char *text = export_text(path, mpt_export_chrome, &len);
    char err[256];
    jv *v = jv_parse(text, len, err, sizeof err);
    MPT_CHECK(v != NULL, "chrome export is not JSON: %s", err);
    const jv *ev = jv_get(v, "traceEvents");
    ck_assert_ptr_nonnull(ev);
    /* per thread: a stack of open ranges, each with the latest end of what ran inside */
    struct {
        double tid, open_ts[64], inner_end[64], last_ts;
        int depth;
    } th[8];
    int nth = 0, gemms = 0, counters_loss = 0, counters_scale = 0, nonfinite = 0, steps = 0,
        process = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const jv *e = &ev->items[i];
        const char *ph = jv_str(e, "ph"), *name = jv_str(e, "name");
        ck_assert_ptr_nonnull(ph);
        ck_assert(!isnan(jv_num(e, "ts")) && !isnan(jv_num(e, "pid")) && !isnan(jv_num(e, "tid")));
        double tid = jv_num(e, "tid"), ts = jv_num(e, "ts");
        if (strcmp(ph, "M") == 0) {
            process += strcmp(name, "process_name") == 0;
            continue;
        }
        if (strcmp(ph, "C") == 0) {
            counters_loss += strcmp(name, "loss") == 0;
            counters_scale += strcmp(name, "scale") == 0;
            nonfinite += strcmp(name, "nonfinite") == 0 && jv_num(e, "args.inf") == 37;
            continue;
        }
        int t = 0;
        while (t < nth && th[t].tid != tid)
            t++;
        if (t == nth) {
            ck_assert_int_lt(nth, 8);
            memset(&th[nth], 0, sizeof th[nth]);
            th[nth++].tid = tid;
        }
        MPT_CHECK(ts >= th[t].last_ts, "event %zu goes back in time on its thread", i);
        th[t].last_ts = ts;
        if (strcmp(ph, "B") == 0) {
            th[t].open_ts[th[t].depth] = ts;
            th[t].inner_end[th[t].depth++] = ts;
        } else if (strcmp(ph, "E") == 0) {
            MPT_CHECK(th[t].depth > 0, "event %zu: E without B", i);
            th[t].depth--;
            MPT_CHECK(th[t].inner_end[th[t].depth] <= ts, "event %zu: a slice outlives its range",
                      i);
        } else if (strcmp(ph, "X") == 0) {
            double end = ts + jv_num(e, "dur");
            if (th[t].depth) {
                MPT_CHECK(ts >= th[t].open_ts[th[t].depth - 1], "event %zu before its range", i);
                if (end > th[t].inner_end[th[t].depth - 1]) th[t].inner_end[th[t].depth - 1] = end;
            }
            if (strcmp(jv_str(e, "cat"), "gemm") == 0) {
                gemms++;
                ck_assert_ptr_nonnull(jv_str(e, "args.layer"));
            }
            steps += strcmp(jv_str(e, "cat"), "step") == 0;
        }
    }
    for (int t = 0; t < nth; t++)
        MPT_CHECK(th[t].depth == 0, "thread %g: %d ranges left open", th[t].tid, th[t].depth);
    ck_assert_int_eq(process, 1);
    ck_assert_uint_eq((uint64_t)gemms, count_records(path, MPT_REC_GEMM));
    ck_assert_int_eq(steps, 25);
    ck_assert_int_eq(counters_loss, 24); /* the NaN loss of step 20 is loss_nonfinite */
    ck_assert_int_eq(counters_scale, 25);
    ck_assert_int_eq(nonfinite, 1);
    jv_free(v);
    free(text);
    unlink(path);
}
END_TEST

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    MPT_CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
              sqlite3_errmsg(db));
    MPT_CHECK(sqlite3_step(s) == SQLITE_ROW, "%s: no row", sql);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void q_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *s;
    MPT_CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
              sqlite3_errmsg(db));
    MPT_CHECK(sqlite3_step(s) == SQLITE_ROW, "%s: no row", sql);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

START_TEST(test_export_sqlite)
{
    char path[256], db_path[256], err[512];
    synth(path, sizeof path, 20);
    mpt_test_tmpfile(db_path, sizeof db_path, "export_db");
    FILE *stale = fopen(db_path, "w"); /* an existing file is replaced */
    fputs("stale", stale);
    fclose(stale);
    char *p = path;
    mpt_export_walker *w = mpt_export_open(&p, 1, err, sizeof err);
    MPT_CHECK(mpt_export_sqlite(w, db_path, err, sizeof err) == 0, "%s", err);
    mpt_export_close(w);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM ops"),
                     (int64_t)count_records(path, MPT_REC_GEMM));
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM tensors"),
                     (int64_t)count_records(path, MPT_REC_TENSOR));
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM precision"),
                     (int64_t)count_records(path, MPT_REC_PRECISION));
    ck_assert_int_eq(
        q_int(db, "SELECT count(*) FROM events"),
        (int64_t)(count_records(path, MPT_REC_KERNEL) + count_records(path, MPT_REC_MEMORY)));
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM steps"), 25);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM layers"), 26);
    ck_assert_int_eq(
        q_int(db, "SELECT count(*) FROM tensors WHERE op_id IS NULL AND event_id IS NULL"), 0);
    ck_assert_int_eq(q_int(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                           " ('ops_step','ops_layer','ops_seq','tensors_op','tensors_nonfinite')"),
                     5);
    /* docs/export.md's example queries */
    char text[256];
    q_text(db,
           "SELECT l.name || ' ' || o.step FROM tensors t JOIN ops o ON o.id = t.op_id"
           " JOIN layers l ON l.id = o.layer_id WHERE t.nan > 0 OR t.inf > 0"
           " ORDER BY o.step, o.seq LIMIT 1",
           text, sizeof text);
    ck_assert_str_eq(text, "fwd/blk1/attn/scores 20");
    ck_assert_int_eq(q_int(db, "SELECT step FROM steps WHERE skip = 1"), 20);
    ck_assert(q_int(db, "SELECT count(*) FROM steps WHERE loss IS NULL") == 1); /* NaN -> NULL */
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM ops o JOIN layers l ON l.id = o.layer_id"
                               " WHERE l.name = 'bwd/blk0/mlp/up'"),
                     50);
    ck_assert_int_eq(q_int(db, "SELECT max(t.absmax) > 1000 FROM tensors t JOIN ops o ON"
                               " o.id = t.op_id WHERE t.role = 'A' AND o.step = 20"),
                     0);
    /* every query of docs/export.md's example block runs (when the docs are at hand) */
    uint8_t *doc;
    size_t dlen;
    if (mpt_test_slurp("docs/export.md", &doc, &dlen) == 0) {
        char *d = realloc(doc, dlen + 1);
        d[dlen] = '\0';
        char *block = strstr(d, "```sql");
        ck_assert_ptr_nonnull(block);
        block += 6;
        *strstr(block, "```") = '\0';
        int nq = 0;
        for (char *q = strtok(block, ";"); q; q = strtok(NULL, ";")) {
            char sql[2048];
            size_t k = 0;
            for (char *line = q; *line;) { /* drop the comment lines */
                char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t)(nl - line) : strlen(line);
                const char *t = line;
                while (*t == ' ')
                    t++;
                if (strncmp(t, "--", 2) != 0 && k + n + 2 < sizeof sql) {
                    memcpy(sql + k, line, n);
                    k += n;
                    sql[k++] = ' ';
                }
                line += n + (nl != NULL);
            }
            sql[k] = '\0';
            if (strspn(sql, " \n") == k) continue;
            sqlite3_stmt *st;
            MPT_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "docs query %d: %s",
                      nq, sqlite3_errmsg(db));
            int rc = sqlite3_step(st);
            MPT_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, "docs query %d failed", nq);
            if (nq == 0)
                ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "fwd/blk1/attn/scores");
            sqlite3_finalize(st);
            nq++;
        }
        ck_assert_int_ge(nq, 6);
        free(d);
    } else {
        fprintf(stderr, "SKIP: %s: docs/export.md not found from %s\n", __func__,
                getcwd(text, sizeof text));
    }
    q_text(db, "SELECT state FROM sources", text, sizeof text);
    ck_assert_str_eq(text, "complete");
    sqlite3_close(db);
    unlink(db_path);
    unlink(path);
}
END_TEST

extern Suite *suite_analyzer_export(void);
Suite *suite_analyzer_export(void)
{
    Suite *s = suite_create("analyzer_export");
    TCase *tc = tcase_create("export");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_export_csv_and_jsonl);
    tcase_add_test(tc, test_export_awkward_names);
    tcase_add_test(tc, test_export_chrome);
    tcase_add_test(tc, test_export_sqlite);
    suite_add_tcase(s, tc);
    return s;
}
