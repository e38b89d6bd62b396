/*
 * The streaming JSON writer (contract in json.h).
 */
#include "analyzer/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when the bytes are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f; /* nothing above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

void mpt_json_write_string(FILE *f, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    putc('"', f);
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            /* a run of plain ASCII in one write */
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
                j++;
            fwrite(s + i, 1, j - i, f);
            i = j;
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        default:
            if (c < 0x20) {
                fprintf(f, "\\u%04x", c);
            } else {
                size_t k = utf8_seq(s + i, len - i);
                if (k) {
                    fwrite(s + i, 1, k, f);
                    i += k;
                    continue;
                }
                fputs("\\ufffd", f); /* not UTF-8: replaced, one byte at a time */
            }
        }
        i++;
    }
    putc('"', f);
}

void mpt_json_format_double(char *buf, size_t n, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "null");
        return;
    }
    if (v == 0) {
        snprintf(buf, n, signbit(v) ? "-0" : "0");
        return;
    }
    for (int prec = 9; prec <= 17; prec += (prec < 15 ? 6 : 1)) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* ---- structure ------------------------------------------------------------------------------- */

void mpt_json_init(mpt_json *j, FILE *f, int pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

static void newline(mpt_json *j)
{
    if (!j->pretty) return;
    putc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Before any value: the separator, and the structure check. */
static void before_value(mpt_json *j)
{
    if (j->depth == 0) {
        if (j->count[0]) j->misuse = 1; /* a second top-level value */
        j->count[0] = 1;
        return;
    }
    int d = j->depth;
    if (j->is_object[d]) {
        if (!j->have_key) j->misuse = 1;
        j->have_key = 0;
        return;
    }
    if (j->count[d]) putc(',', j->f);
    if (j->count[d] < 255) j->count[d]++;
    newline(j);
}

void mpt_json_key(mpt_json *j, const char *key)
{
    int d = j->depth;
    if (d == 0 || !j->is_object[d] || j->have_key) {
        j->misuse = 1;
        return;
    }
    if (j->count[d]) putc(',', j->f);
    if (j->count[d] < 255) j->count[d]++;
    newline(j);
    mpt_json_write_string(j->f, key, strlen(key));
    fputs(j->pretty ? ": " : ":", j->f);
    j->have_key = 1;
}

static void open_level(mpt_json *j, int obj)
{
    before_value(j);
    putc(obj ? '{' : '[', j->f);
    if (j->depth + 1 >= MPT_JSON_MAX_DEPTH) {
        j->misuse = 1;
        return;
    }
    j->depth++;
    j->is_object[j->depth] = (unsigned char)obj;
    j->count[j->depth] = 0;
}

static void close_level(mpt_json *j, int obj)
{
    if (j->depth == 0 || j->is_object[j->depth] != obj || j->have_key) {
        j->misuse = 1;
        return;
    }
    int had = j->count[j->depth] != 0;
    j->depth--;
    if (had) newline(j);
    putc(obj ? '}' : ']', j->f);
}

void mpt_json_object_begin(mpt_json *j)
{
    open_level(j, 1);
}
void mpt_json_object_end(mpt_json *j)
{
    close_level(j, 1);
}
void mpt_json_array_begin(mpt_json *j)
{
    open_level(j, 0);
}
void mpt_json_array_end(mpt_json *j)
{
    close_level(j, 0);
}

/* ---- values ---------------------------------------------------------------------------------- */

void mpt_json_str(mpt_json *j, const char *s)
{
    if (!s) {
        mpt_json_null(j);
        return;
    }
    mpt_json_strn(j, s, strlen(s));
}

void mpt_json_strn(mpt_json *j, const char *s, size_t len)
{
    before_value(j);
    mpt_json_write_string(j->f, s, len);
}

void mpt_json_int(mpt_json *j, int64_t v)
{
    before_value(j);
    fprintf(j->f, "%" PRId64, v);
}

void mpt_json_uint(mpt_json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->f, "%" PRIu64, v);
}

void mpt_json_num(mpt_json *j, double v)
{
    char buf[40];
    before_value(j);
    mpt_json_format_double(buf, sizeof buf, v);
    fputs(buf, j->f);
}

void mpt_json_bool(mpt_json *j, int v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void mpt_json_null(mpt_json *j)
{
    before_value(j);
    fputs("null", j->f);
}

void mpt_json_kstr(mpt_json *j, const char *key, const char *s)
{
    mpt_json_key(j, key);
    mpt_json_str(j, s);
}
void mpt_json_kint(mpt_json *j, const char *key, int64_t v)
{
    mpt_json_key(j, key);
    mpt_json_int(j, v);
}
void mpt_json_kuint(mpt_json *j, const char *key, uint64_t v)
{
    mpt_json_key(j, key);
    mpt_json_uint(j, v);
}
void mpt_json_knum(mpt_json *j, const char *key, double v)
{
    mpt_json_key(j, key);
    mpt_json_num(j, v);
}
void mpt_json_kbool(mpt_json *j, const char *key, int v)
{
    mpt_json_key(j, key);
    mpt_json_bool(j, v);
}

int mpt_json_done(const mpt_json *j)
{
    if (j->misuse || j->depth != 0 || j->have_key || !j->count[0]) return -1;
    return ferror(j->f) ? -1 : 0;
}

int mpt_json_finish(mpt_json *j)
{
    putc('\n', j->f);
    return mpt_json_done(j);
}
