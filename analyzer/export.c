/*
 * The export walker (contract in export.h): traces in rank order, record by record, with the
 * string ids and the op of each TENSOR/PRECISION record resolved.
 */
#include "analyzer/export.h"

#include <stdlib.h>
#include <string.h>

#include "core/trace_reader.h"

#define OP_RING 4096u

typedef struct esrc {
    mpt_source pub;
    mpt_trace_reader *r;
    mpt_trace_header hdr; /* a copy; hostname/cmdline point at the copies below */
    char *path, *host, *cmd, *cmdline_raw;
    int done;
} esrc;

typedef struct ring_op {
    uint64_t seq; /* 0: empty */
    mpt_export_op op;
    char name[32]; /* "op#N" */
} ring_op;

struct mpt_export_walker {
    esrc *src;
    int n, cur;
    mpt_trace_record *rec;
    ring_op *ring;
};

const char *mpt_export_narrow_name(int i)
{
    static const char *const names[] = {"fp16", "bf16", "e4m3", "e5m2"};
    return i >= 0 && i < 4 ? names[i] : "?";
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n) memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int fill_source(esrc *s, const char *path)
{
    const mpt_trace_header *h = mpt_trace_reader_header(s->r);
    s->hdr = *h;
    s->path = dup_n(path, strlen(path));
    s->host = dup_n(h->hostname ? h->hostname : "", h->hostname ? strlen(h->hostname) : 0);
    s->cmdline_raw = dup_n(h->cmdline ? h->cmdline : "", h->cmdline ? h->cmdline_len : 0);
    s->cmd = dup_n(h->cmdline ? h->cmdline : "", h->cmdline ? h->cmdline_len : 0);
    if (!s->path || !s->host || !s->cmd || !s->cmdline_raw) return -1;
    size_t n = h->cmdline_len;
    for (size_t i = 0; i < n; i++)
        if (!s->cmd[i]) s->cmd[i] = ' ';
    while (n && s->cmd[n - 1] == ' ')
        s->cmd[--n] = '\0';
    s->hdr.hostname = s->host;
    s->hdr.cmdline = s->cmdline_raw;
    s->pub.path = s->path;
    s->pub.pid = h->pid;
    s->pub.rank = h->rank;
    s->pub.world_size = h->world_size;
    s->pub.hostname = s->host;
    s->pub.cmdline = s->cmd;
    s->pub.mono_origin_ns = h->mono_origin_ns;
    s->pub.start_realtime_ns = h->start_realtime_ns;
    s->pub.state = MPT_SOURCE_READING;
    return 0;
}

mpt_export_walker *mpt_export_open(char *const *paths, int n, char *err, size_t errlen)
{
    mpt_export_walker *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->src = calloc((size_t)(n > 0 ? n : 1), sizeof *w->src);
    w->rec = malloc(sizeof *w->rec);
    w->ring = calloc(OP_RING, sizeof *w->ring);
    if (!w->src || !w->rec || !w->ring) goto oom;
    size_t len = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char e[600];
        esrc *s = &w->src[w->n];
        s->r = mpt_trace_reader_open(paths[i], 0, e, sizeof e);
        if (!s->r) {
            int k =
                snprintf(err + len, errlen > len ? errlen - len : 0, "%s%s", len ? "\n" : "", e);
            if (k > 0) len += (size_t)k < errlen - len ? (size_t)k : errlen - len - 1;
            failed = 1;
            continue;
        }
        w->n++;
        if (fill_source(s, paths[i]) != 0) goto oom;
    }
    if (failed) {
        mpt_export_close(w);
        return NULL;
    }
    /* rank order, unknown ranks last, stable */
    for (int i = 1; i < w->n; i++) {
        esrc x = w->src[i];
        int j = i - 1;
        while (j >= 0 && (unsigned)w->src[j].pub.rank > (unsigned)x.pub.rank) {
            w->src[j + 1] = w->src[j];
            j--;
        }
        w->src[j + 1] = x;
    }
    return w;
oom:
    snprintf(err, errlen, "out of memory");
    mpt_export_close(w);
    return NULL;
}

void mpt_export_close(mpt_export_walker *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        esrc *s = &w->src[i];
        if (s->r) mpt_trace_reader_close(s->r);
        free(s->path);
        free(s->host);
        free(s->cmd);
        free(s->cmdline_raw);
    }
    free(w->src);
    free(w->rec);
    free(w->ring);
    free(w);
}

static void finish(esrc *s, mpt_trace_status st)
{
    s->pub.bytes = mpt_trace_reader_offset(s->r);
    switch (st) {
    case MPT_TRACE_EOF:
        s->pub.state = MPT_SOURCE_DONE;
        break;
    case MPT_TRACE_TRUNCATED:
        s->pub.state = MPT_SOURCE_TRUNCATED;
        break;
    case MPT_TRACE_CORRUPT:
        s->pub.state = MPT_SOURCE_CORRUPT;
        break;
    default:
        s->pub.state = MPT_SOURCE_FAILED;
        break;
    }
    if (st == MPT_TRACE_TRUNCATED || st == MPT_TRACE_CORRUPT) s->pub.error_offset = s->pub.bytes;
    if (st != MPT_TRACE_EOF)
        snprintf(s->pub.message, sizeof s->pub.message, "%s", mpt_trace_reader_error(s->r));
    mpt_trace_reader_close(s->r);
    s->r = NULL;
    s->done = 1;
}

static void ring_put(mpt_export_walker *w, const mpt_trace_record *rec)
{
    uint64_t seq = rec->type == MPT_REC_GEMM ? rec->u.gemm.seq : rec->u.memory.seq;
    if (!seq) return;
    ring_op *e = &w->ring[seq & (OP_RING - 1)];
    memset(e, 0, sizeof *e);
    e->seq = seq;
    if (rec->type == MPT_REC_GEMM) {
        const mpt_trace_gemm *g = &rec->u.gemm;
        e->op.gemm = *g;
        const char *l = g->layer ? mpt_export_string(w, g->layer) : "";
        if (!*l) {
            snprintf(e->name, sizeof e->name, "op#%u", g->ordinal);
            l = e->name;
        }
        e->op.layer = l;
        e->op.api = mpt_export_string(w, g->api);
    } else {
        e->op.is_memory = 1;
        e->op.memory = rec->u.memory;
        e->op.layer = "";
        e->op.api = mpt_mem_kind_name(rec->u.memory.kind);
    }
}

int mpt_export_next(mpt_export_walker *w, const mpt_trace_record **rec, int *src)
{
    while (w->cur < w->n) {
        esrc *s = &w->src[w->cur];
        if (s->done) {
            w->cur++;
            memset(w->ring, 0, OP_RING * sizeof *w->ring); /* seqs are per process */
            continue;
        }
        mpt_trace_status st = mpt_trace_reader_next(s->r, w->rec);
        if (st != MPT_TRACE_RECORD) {
            finish(s, st);
            continue;
        }
        s->pub.records++;
        if (w->rec->type == MPT_REC_END) {
            s->pub.ended = 1;
            s->pub.end_how = w->rec->u.end.how;
            s->pub.end_status = w->rec->u.end.status;
        }
        if (w->rec->type == MPT_REC_GEMM || w->rec->type == MPT_REC_MEMORY) ring_put(w, w->rec);
        *rec = w->rec;
        *src = w->cur;
        return 1;
    }
    return 0;
}

int mpt_export_nsources(const mpt_export_walker *w)
{
    return w->n;
}

const mpt_source *mpt_export_source(const mpt_export_walker *w, int i)
{
    return i >= 0 && i < w->n ? &w->src[i].pub : NULL;
}

const mpt_trace_header *mpt_export_header(const mpt_export_walker *w, int i)
{
    return i >= 0 && i < w->n ? &w->src[i].hdr : NULL;
}

const char *mpt_export_string(const mpt_export_walker *w, uint32_t id)
{
    if (!id || w->cur >= w->n || !w->src[w->cur].r) return "";
    const char *s = mpt_trace_reader_string(w->src[w->cur].r, id);
    return s ? s : "";
}

mpt_export_op *mpt_export_op_of(mpt_export_walker *w, uint64_t seq)
{
    ring_op *e = &w->ring[seq & (OP_RING - 1)];
    return seq && e->seq == seq ? &e->op : NULL;
}
