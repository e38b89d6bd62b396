/*
 * Trace files as model sources: opening (whole files, or FOLLOW for a trace still being
 * written), polling records into the model in bounded batches, and loading several ranks'
 * traces as one run.
 *
 * Damage is not an error here: a truncated or corrupt source keeps every record before the
 * damage, ends in state TRUNCATED or CORRUPT, and carries the reader's message (file name and
 * byte offset) for the front end to print. Only a file that cannot be opened as a trace at all
 * makes mpt_model_open / mpt_model_load fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/model_internal.h"

int mpt_model_open(mpt_model *m, const char *path, unsigned flags, char *err, size_t errlen)
{
    if (!m->scratch) {
        m->scratch = malloc(sizeof *m->scratch);
        if (!m->scratch) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }
    /* sparse TENSOR records: mpt_model_feed takes them without building dense histograms */
    mpt_trace_reader *r = mpt_trace_reader_open(path, flags | MPT_TRACE_SPARSE, err, errlen);
    if (!r) return -1;
    const mpt_trace_header *h = mpt_trace_reader_header(r);
    int i = mpt_model_add_source(m, path, h);
    if (i < 0) {
        mpt_trace_reader_close(r);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    src_state *s = m->srcs[i];
    s->reader = r;
    s->open_flags = flags;
    s->header_pending = h == NULL;
    return i;
}

static void finish(mpt_model *m, src_state *s, mpt_source_state st)
{
    mpt_trace_reader *r = s->reader;
    s->pub.state = st;
    s->pub.bytes = mpt_trace_reader_offset(r);
    if (st == MPT_SOURCE_TRUNCATED || st == MPT_SOURCE_CORRUPT) s->pub.error_offset = s->pub.bytes;
    if (st == MPT_SOURCE_TRUNCATED) s->pub.bytes += mpt_trace_reader_truncated_bytes(r);
    if (st != MPT_SOURCE_DONE)
        snprintf(s->pub.message, sizeof s->pub.message, "%s", mpt_trace_reader_error(r));
    m->tot.unknown_skipped += mpt_trace_reader_skipped(r);
    mpt_trace_reader_close(r);
    s->reader = NULL;
    m->gen++;
}

mpt_poll_status mpt_model_poll(mpt_model *m, uint64_t max_records)
{
    uint64_t budget = max_records ? max_records : UINT64_MAX;
    int open = 0;
    for (int i = 0; i < m->nsrc; i++) {
        src_state *s = m->srcs[i];
        if (!s->reader) continue;
        if (s->header_pending) {
            const mpt_trace_header *h = mpt_trace_reader_header(s->reader);
            if (h) {
                mpt_source_set_header(m, s, h);
                s->header_pending = 0;
            }
        }
        for (;;) {
            if (!budget) return MPT_POLL_MORE;
            mpt_trace_status st = mpt_trace_reader_next(s->reader, m->scratch);
            if (st == MPT_TRACE_RECORD) {
                budget--;
                if (mpt_model_feed(m, i, m->scratch) != 0) {
                    snprintf(s->pub.message, sizeof s->pub.message,
                             "%s: out of memory while reading; the model stops here", s->pub.path);
                    finish(m, s, MPT_SOURCE_FAILED);
                    break;
                }
                continue;
            }
            if (st == MPT_TRACE_AGAIN) {
                s->pub.bytes = mpt_trace_reader_offset(s->reader);
                open = 1;
                if (s->header_pending) { /* the header may have completed during this call */
                    const mpt_trace_header *h = mpt_trace_reader_header(s->reader);
                    if (h) {
                        mpt_source_set_header(m, s, h);
                        s->header_pending = 0;
                    }
                }
                break;
            }
            switch (st) {
            case MPT_TRACE_EOF:
                finish(m, s, MPT_SOURCE_DONE);
                break;
            case MPT_TRACE_TRUNCATED:
                finish(m, s, MPT_SOURCE_TRUNCATED);
                break;
            case MPT_TRACE_CORRUPT:
                finish(m, s, MPT_SOURCE_CORRUPT);
                break;
            default:
                finish(m, s, MPT_SOURCE_FAILED);
                break;
            }
            break;
        }
    }
    return open ? MPT_POLL_IDLE : MPT_POLL_DONE;
}

/* Rank order (unknown ranks last), stable: the first source is the one whose loss reports win. */
static void sort_by_rank(src_state **v, int n)
{
    for (int i = 1; i < n; i++) {
        src_state *x = v[i];
        unsigned kx = (unsigned)x->pub.rank; /* -1 sorts last */
        int j = i - 1;
        while (j >= 0 && (unsigned)v[j]->pub.rank > kx) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

int mpt_model_load(mpt_model *m, char *const *paths, int n, char *err, size_t errlen)
{
    int first = m->nsrc, rc = 0;
    char e[600];
    if (err && errlen) err[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (mpt_model_open(m, paths[i], 0, e, sizeof e) < 0) {
            if (err && len + 1 < errlen) {
                int k = snprintf(err + len, errlen - len, "%s%s", len ? "\n" : "", e);
                if (k > 0) len += (size_t)k < errlen - len ? (size_t)k : errlen - len - 1;
            }
            rc = -1;
        }
    }
    sort_by_rank(m->srcs + first, m->nsrc - first);
    while (mpt_model_poll(m, 0) == MPT_POLL_MORE) {
    }
    return rc;
}
