/*
 * Trace round trips: every record type with extreme values through the writer and back through
 * the reader (from a file and from memory); the header and its limits; string interning; eight
 * threads writing through one writer; and the writer's error, signal and fork contracts.
 * (The byte layout itself is checked against the document in test_trace_layout.c.)
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/trace_reader.h"
#include "core/trace_writer.h"
#include "tests/unit/trace_samples.h"

/* Reads every record of r and compares with the samples; expects a clean EOF after END. */
static void check_reads_back(mpt_trace_reader *r, const mpt_test_samples *s)
{
    mpt_trace_record *got = malloc(sizeof *got);
    for (size_t i = 0; i < s->n; i++) {
        mpt_trace_status st = mpt_trace_reader_next(r, got);
        MPT_CHECK(st == MPT_TRACE_RECORD, "record %zu: status %d (%s)", i, st,
                  mpt_trace_reader_error(r));
        const char *d = mpt_test_record_diff(&s->rec[i], got);
        MPT_CHECK(d == NULL, "record %zu (%s): %s", i, mpt_record_type_name(s->rec[i].type), d);
    }
    ck_assert_int_eq(mpt_trace_reader_next(r, got), MPT_TRACE_EOF);
    ck_assert_int_eq(mpt_trace_reader_next(r, got), MPT_TRACE_EOF);
    ck_assert_uint_eq(mpt_trace_reader_records(r), s->n);
    ck_assert_uint_eq(mpt_trace_reader_skipped(r), 0);
    for (size_t i = 0; i < s->nstrings; i++) {
        const char *str = mpt_trace_reader_string(r, (uint32_t)i + 1);
        ck_assert_ptr_nonnull(str);
        ck_assert_uint_eq(strlen(str), s->string_len[i]);
        ck_assert(memcmp(str, s->strings[i], s->string_len[i]) == 0);
    }
    ck_assert_ptr_null(mpt_trace_reader_string(r, 0));
    ck_assert_ptr_null(mpt_trace_reader_string(r, (uint32_t)s->nstrings + 1));
    free(got);
}

static void check_header(const mpt_trace_header *h, const mpt_trace_header *want)
{
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(h->version_major, MPT_TRACE_VERSION_MAJOR);
    ck_assert_uint_eq(h->version_minor, MPT_TRACE_VERSION_MINOR);
    ck_assert_int_eq(h->pid, want->pid);
    ck_assert_int_eq(h->rank, want->rank);
    ck_assert_int_eq(h->local_rank, want->local_rank);
    ck_assert_int_eq(h->world_size, want->world_size);
    ck_assert(h->start_realtime_ns == want->start_realtime_ns);
    ck_assert(h->mono_origin_ns == want->mono_origin_ns);
    ck_assert_str_eq(h->hostname, want->hostname);
    ck_assert_uint_eq(h->cmdline_len, want->cmdline_len);
    ck_assert(memcmp(h->cmdline, want->cmdline, want->cmdline_len) == 0);
    ck_assert_uint_eq(h->flags, 0);
}

START_TEST(test_every_record_file_and_memory)
{
    mpt_test_samples *s = mpt_test_samples_new(MPT_TEST_SAMPLES_BIG);
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "rt");
    MPT_CHECK(mpt_test_samples_write(s, path, err, sizeof err) == 0, "%s", err);

    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    MPT_CHECK(r != NULL, "%s", err);
    check_header(mpt_trace_reader_header(r), &s->header);
    check_reads_back(r, s);
    mpt_trace_reader_close(r);

    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(path, &data, &len), 0);
    r = mpt_trace_reader_open_mem(data, len, err, sizeof err);
    MPT_CHECK(r != NULL, "%s", err);
    check_header(mpt_trace_reader_header(r), &s->header);
    check_reads_back(r, s);
    ck_assert_uint_eq(mpt_trace_reader_offset(r), len);
    mpt_trace_reader_close(r);
    free(data);
    unlink(path);
    mpt_test_samples_free(s);
}
END_TEST

START_TEST(test_header_limits)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "hdr");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    ck_assert_int_eq(h.pid, getpid());
    ck_assert_int_eq(h.rank, -1);
    ck_assert_int_eq(h.local_rank, -1);
    ck_assert_int_eq(h.world_size, -1);
    char *host = malloc(400), *cmd = malloc(MPT_TRACE_CMDLINE_MAX + 10);
    for (int i = 0; i < 399; i++)
        host[i] = i % 2 ? '\xa9' : '\xc3'; /* é é é ...: 254 is the last boundary <= 255 */
    host[399] = '\0';
    memset(cmd, 'x', MPT_TRACE_CMDLINE_MAX + 10);
    h.hostname = host, h.cmdline = cmd, h.cmdline_len = MPT_TRACE_CMDLINE_MAX + 10;
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    MPT_CHECK(w != NULL, "%s", err);
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);
    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    MPT_CHECK(r != NULL, "%s", err);
    const mpt_trace_header *rh = mpt_trace_reader_header(r);
    ck_assert_uint_eq(strlen(rh->hostname), 254);
    ck_assert(memcmp(rh->hostname, host, 254) == 0);
    ck_assert_uint_eq(rh->cmdline_len, MPT_TRACE_CMDLINE_MAX);
    ck_assert_uint_eq(rh->flags, MPT_HDR_CMDLINE_TRUNCATED);
    /* close() wrote END (CLOSED) with the number of records before it (none). */
    mpt_trace_record *rec = malloc(sizeof *rec);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
    ck_assert_int_eq(rec->type, MPT_REC_END);
    ck_assert_int_eq(rec->u.end.how, MPT_END_CLOSED);
    ck_assert_uint_eq(rec->u.end.records, 0);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_EOF);
    mpt_trace_reader_close(r);
    free(rec), free(host), free(cmd);
    unlink(path);
}
END_TEST

START_TEST(test_intern)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "intern");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(mpt_trace_writer_intern(w, NULL), 0);
    char name[32];
    for (int i = 0; i < 1000; i++) { /* enough to grow the table several times */
        snprintf(name, sizeof name, "layer.%d", i);
        ck_assert_uint_eq(mpt_trace_writer_intern(w, name), (uint32_t)i + 1);
    }
    for (int i = 999; i >= 0; i--) {
        snprintf(name, sizeof name, "layer.%d", i);
        ck_assert_uint_eq(mpt_trace_writer_intern(w, name), (uint32_t)i + 1);
    }
    /* An over-long string is interned as cut: the cut prefix is the same string. */
    mpt_test_samples *s = mpt_test_samples_new(MPT_TEST_SAMPLES_BIG);
    uint32_t id = mpt_trace_writer_intern(w, s->long_string);
    char *prefix = strndup(s->long_string, 65535);
    ck_assert_uint_eq(mpt_trace_writer_intern(w, prefix), id);
    ck_assert_uint_eq(mpt_trace_writer_next_seq(w), 1);
    ck_assert_uint_eq(mpt_trace_writer_next_seq(w), 2);
    /* STRING records only come from intern: refused, and the refusal is not sticky. */
    mpt_trace_record rec = {.type = MPT_REC_STRING};
    ck_assert_int_eq(mpt_trace_writer_record(w, &rec), -1);
    ck_assert_ptr_null(mpt_trace_writer_error(w));
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);

    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    mpt_trace_record *got = malloc(sizeof *got);
    size_t strings = 0;
    while (mpt_trace_reader_next(r, got) == MPT_TRACE_RECORD)
        strings += got->type == MPT_REC_STRING;
    ck_assert_uint_eq(strings, 1001); /* each string once */
    ck_assert_str_eq(mpt_trace_reader_string(r, 1000), "layer.999");
    ck_assert_str_eq(mpt_trace_reader_string(r, id), prefix);
    mpt_trace_reader_close(r);
    free(got), free(prefix);
    mpt_test_samples_free(s);
    unlink(path);
}
END_TEST

/* ---- threads --------------------------------------------------------------------------------- */

enum { NTHREADS = 8, PER_THREAD = 3000 };

typedef struct thread_arg {
    mpt_trace_writer *w;
    uint32_t index;
} thread_arg;

static void *writer_thread(void *p)
{
    thread_arg *a = p;
    char name[32];
    snprintf(name, sizeof name, "thread.%u", a->index);
    mpt_stats *st = malloc(sizeof *st);
    mpt_stats_init(st);
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        mpt_trace_gemm g;
        memset(&g, 0, sizeof g);
        g.seq = mpt_trace_writer_next_seq(a->w);
        g.tid = a->index;
        g.ordinal = i;
        g.layer = mpt_trace_writer_intern(a->w, name);
        g.api = mpt_trace_writer_intern(a->w, "cublasGemmEx"); /* shared by all threads */
        if (mpt_trace_writer_gemm(a->w, &g) < 0) break;
        /* A large record now and then, so that flushes happen mid-stream. */
        st->count = i;
        st->hist[i % MPT_HIST_BUCKETS] = i + 1;
        mpt_trace_tensor_info info = {g.seq, MPT_ROLE_D, MPT_DT_F16, a->index, i, 1};
        if (i % 7 == 0 && mpt_trace_writer_tensor_full(a->w, &info, st) < 0) break;
    }
    free(st);
    return NULL;
}

START_TEST(test_threads_interleave_whole_records)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "threads");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    pthread_t th[NTHREADS];
    thread_arg args[NTHREADS];
    for (uint32_t t = 0; t < NTHREADS; t++) {
        args[t] = (thread_arg){w, t};
        ck_assert_int_eq(pthread_create(&th[t], NULL, writer_thread, &args[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    ck_assert_ptr_null(mpt_trace_writer_error(w));
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);

    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    MPT_CHECK(r != NULL, "%s", err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    uint32_t next_ordinal[NTHREADS] = {0};
    uint8_t *seen = calloc(NTHREADS * PER_THREAD + 1, 1);
    size_t gemms = 0, tensors = 0;
    mpt_trace_status st;
    while ((st = mpt_trace_reader_next(r, rec)) == MPT_TRACE_RECORD) {
        if (rec->type == MPT_REC_GEMM) {
            const mpt_trace_gemm *g = &rec->u.gemm;
            MPT_CHECK(g->tid < NTHREADS, "tid %u", g->tid);
            MPT_CHECK(g->ordinal == next_ordinal[g->tid], "thread %u: ordinal %u after %u", g->tid,
                      g->ordinal, next_ordinal[g->tid]); /* per-thread order kept */
            next_ordinal[g->tid]++;
            MPT_CHECK(g->seq >= 1 && g->seq <= NTHREADS * PER_THREAD && !seen[g->seq],
                      "seq %llu out of range or repeated", (unsigned long long)g->seq);
            seen[g->seq] = 1;
            char name[32];
            snprintf(name, sizeof name, "thread.%u", g->tid);
            MPT_CHECK(strcmp(mpt_trace_reader_string(r, g->layer), name) == 0, "layer name");
            MPT_CHECK(strcmp(mpt_trace_reader_string(r, g->api), "cublasGemmEx") == 0, "api");
            gemms++;
        } else if (rec->type == MPT_REC_TENSOR) {
            const mpt_trace_tensor *t = &rec->u.tensor;
            MPT_CHECK(t->full.hist[t->info.cols % MPT_HIST_BUCKETS] == (uint64_t)t->info.cols + 1,
                      "tensor histogram");
            tensors++;
        }
    }
    MPT_CHECK(st == MPT_TRACE_EOF, "%s", mpt_trace_reader_error(r));
    ck_assert_uint_eq(gemms, NTHREADS * PER_THREAD);
    ck_assert_uint_eq(tensors, NTHREADS * ((PER_THREAD + 6) / 7));
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_uint_eq(next_ordinal[t], PER_THREAD);
    mpt_trace_reader_close(r);
    free(rec), free(seen);
    unlink(path);
}
END_TEST

/* ---- errors, signals, fork ------------------------------------------------------------------- */

START_TEST(test_dev_full_is_sticky)
{
    char err[512];
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open("/dev/full", &h, err, sizeof err);
    MPT_CHECK(w != NULL, "%s", err);
    mpt_trace_step s = {1, 2, 3, MPT_STEP_BEGIN};
    ck_assert_int_eq(mpt_trace_writer_step(w, &s), 0); /* buffered: fine so far */
    ck_assert_int_eq(mpt_trace_writer_flush(w), -1);
    ck_assert_int_eq(mpt_trace_writer_errno(w), ENOSPC);
    const char *msg = mpt_trace_writer_error(w);
    ck_assert_ptr_nonnull(msg);
    MPT_CHECK(strstr(msg, "/dev/full") && strstr(msg, strerror(ENOSPC)), "%s", msg);
    char first[512];
    snprintf(first, sizeof first, "%s", msg);
    /* Every later call fails at once, with the first message. */
    ck_assert_int_eq(mpt_trace_writer_step(w, &s), -1);
    ck_assert_uint_eq(mpt_trace_writer_intern(w, "x"), 0);
    ck_assert_int_eq(mpt_trace_writer_message(w, MPT_MSG_INFO, "x"), -1);
    ck_assert_int_eq(mpt_trace_writer_end(w, MPT_END_EXIT, 0), -1);
    ck_assert_int_eq(mpt_trace_writer_flush(w), -1);
    ck_assert_str_eq(mpt_trace_writer_error(w), first);
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), -1);
    ck_assert_str_eq(err, first);
}
END_TEST

/* A full buffer flushes by itself: the error surfaces on the record that triggered it. */
START_TEST(test_dev_full_buffer_overflow)
{
    char err[512];
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open("/dev/full", &h, err, sizeof err);
    mpt_trace_gemm g;
    memset(&g, 0, sizeof g);
    int i, rc = 0;
    for (i = 0; i < 100000 && rc == 0; i++)
        rc = mpt_trace_writer_gemm(w, &g);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(i, (MPT_TRACE_WRITER_BUFFER - mpt_trace_header_size(&h)) / (192 + 16) + 1);
    ck_assert_int_eq(mpt_trace_writer_errno(w), ENOSPC);
    mpt_trace_writer_close(w, err, sizeof err);
}
END_TEST

START_TEST(test_open_failure)
{
    char err[512];
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    const char *path = "/nonexistent-dir-mptrace/run.mpt";
    ck_assert_ptr_null(mpt_trace_writer_open(path, &h, err, sizeof err));
    MPT_CHECK(strstr(err, path) && strstr(err, strerror(ENOENT)), "%s", err);
    ck_assert_ptr_null(mpt_trace_reader_open(path, 0, err, sizeof err));
    MPT_CHECK(strstr(err, path) && strstr(err, strerror(ENOENT)), "%s", err);
}
END_TEST

/* STEP END flushes: a reader sees the step while the writer is still open. */
START_TEST(test_step_end_flushes)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "stepflush");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    mpt_trace_step s = {0, 1, 2, MPT_STEP_BEGIN};
    mpt_trace_writer_step(w, &s);
    struct stat sb;
    stat(path, &sb);
    ck_assert_int_eq(sb.st_size, 0); /* still buffered */
    s.phase = MPT_STEP_END;
    mpt_trace_writer_step(w, &s);
    stat(path, &sb);
    ck_assert_int_eq(sb.st_size, mpt_trace_header_size(&h) + 2 * (24 + 16));
    mpt_trace_writer_close(w, err, sizeof err);
    unlink(path);
}
END_TEST

static mpt_trace_writer *signal_writer;
static volatile int signal_rc = -2;

static void on_signal(int sig)
{
    signal_rc = mpt_trace_writer_emergency_flush(signal_writer, MPT_END_FATAL_SIGNAL, sig);
}

START_TEST(test_emergency_flush_from_signal)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "signal");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    signal_writer = mpt_trace_writer_open(path, &h, err, sizeof err);
    mpt_trace_scalar sc = {7, 8, mpt_trace_writer_intern(signal_writer, "loss"), 0, 2.5};
    mpt_trace_writer_scalar(signal_writer, &sc);
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    ck_assert_int_eq(signal_rc, 0);
    /* Finished: later calls fail, a second emergency flush is harmless, close is quiet. */
    ck_assert_int_eq(mpt_trace_writer_scalar(signal_writer, &sc), -1);
    ck_assert_int_eq(mpt_trace_writer_emergency_flush(signal_writer, MPT_END_FATAL_SIGNAL, 1), 0);

    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD); /* STRING */
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
    ck_assert_int_eq(rec->type, MPT_REC_SCALAR);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
    ck_assert_int_eq(rec->type, MPT_REC_END);
    ck_assert_int_eq(rec->u.end.how, MPT_END_FATAL_SIGNAL);
    ck_assert_int_eq(rec->u.end.status, SIGUSR1);
    ck_assert_uint_eq(rec->u.end.records, 2);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_EOF);
    mpt_trace_reader_close(r);
    ck_assert_int_eq(mpt_trace_writer_close(signal_writer, err, sizeof err), 0);
    free(rec);
    unlink(path);
}
END_TEST

/* The mutex is held elsewhere (here: the fork hook holds it): give up in bounded time. */
START_TEST(test_emergency_flush_gives_up_when_locked)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "locked");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    mpt_trace_writer_fork_prepare(w);
    ck_assert_int_eq(mpt_trace_writer_emergency_flush(w, MPT_END_FATAL_SIGNAL, 11), -1);
    mpt_trace_writer_fork_parent(w);
    ck_assert_ptr_null(mpt_trace_writer_error(w)); /* untouched: still usable */
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);
    unlink(path);
}
END_TEST

START_TEST(test_fork_child_cannot_write)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "fork");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    mpt_trace_step s = {1, 1, 1, MPT_STEP_BEGIN};
    mpt_trace_writer_step(w, &s); /* buffered at fork time: must be written once, by the parent */
    mpt_trace_writer_fork_prepare(w);
    pid_t pid = fork();
    if (pid == 0) {
        mpt_trace_writer_fork_child(w);
        int ok = mpt_trace_writer_step(w, &s) == -1 && mpt_trace_writer_errno(w) == ECHILD &&
                 strstr(mpt_trace_writer_error(w), "fork") != NULL &&
                 mpt_trace_writer_close(w, err, sizeof err) == 0;
        _exit(ok ? 0 : 1);
    }
    mpt_trace_writer_fork_parent(w);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    MPT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw a usable writer");
    s.phase = MPT_STEP_END;
    mpt_trace_writer_step(w, &s);
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);

    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    int steps = 0, ends = 0;
    mpt_trace_status st;
    while ((st = mpt_trace_reader_next(r, rec)) == MPT_TRACE_RECORD) {
        steps += rec->type == MPT_REC_STEP;
        ends += rec->type == MPT_REC_END;
    }
    ck_assert_int_eq(st, MPT_TRACE_EOF);
    ck_assert_int_eq(steps, 2);
    ck_assert_int_eq(ends, 1);
    mpt_trace_reader_close(r);
    free(rec);
    unlink(path);
}
END_TEST

extern Suite *suite_trace_roundtrip(void);
Suite *suite_trace_roundtrip(void)
{
    Suite *s = suite_create("trace_roundtrip");
    TCase *tc = tcase_create("records");
    tcase_add_test(tc, test_every_record_file_and_memory);
    tcase_add_test(tc, test_header_limits);
    tcase_add_test(tc, test_intern);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_threads_interleave_whole_records);
    tcase_add_test(tc, test_dev_full_is_sticky);
    tcase_add_test(tc, test_dev_full_buffer_overflow);
    tcase_add_test(tc, test_open_failure);
    tcase_add_test(tc, test_step_end_flushes);
    tcase_add_test(tc, test_emergency_flush_from_signal);
    tcase_add_test(tc, test_emergency_flush_gives_up_when_locked);
    tcase_add_test(tc, test_fork_child_cannot_write);
    suite_add_tcase(s, tc);
    return s;
}
