/*
 * The strict JSON parser of the analyzer's tests (see test_analyzer_jsonparse.h). No suite.
 */
#include "tests/unit/test_analyzer_jsonparse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct P {
    const unsigned char *s;
    size_t len, i;
    char *err;
    size_t errlen;
    int failed, depth;
} P;

static int fail(P *p, const char *fmt, ...)
{
    if (!p->failed) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(p->err, p->errlen, "byte %zu: %s", p->i, msg);
    }
    p->failed = 1;
    return -1;
}

static void ws(P *p)
{
    while (p->i < p->len &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int value(P *p, jv *v);

static void put_utf8(char *o, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hex4(P *p, unsigned *out)
{
    if (p->i + 4 > p->len) return fail(p, "short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return fail(p, "bad hex digit");
    }
    *out = v;
    return 0;
}

/* Validates one raw UTF-8 sequence at p->i, copying it. */
static int raw_utf8(P *p, char *o, size_t *n)
{
    const unsigned char *s = p->s + p->i;
    size_t left = p->len - p->i, len;
    unsigned cp;
    if (s[0] < 0x80) {
        len = 1;
        cp = s[0];
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else
        return fail(p, "invalid UTF-8 lead byte 0x%02x", s[0]);
    if (left < len) return fail(p, "truncated UTF-8");
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return fail(p, "invalid UTF-8 continuation");
        cp = cp << 6 | (s[k] & 0x3f);
    }
    static const unsigned minv[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minv[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(p, "overlong, surrogate or out-of-range UTF-8");
    memcpy(o + *n, s, len);
    *n += len;
    p->i += len;
    return 0;
}

static int string(P *p, char **out, size_t *outlen)
{
    p->i++; /* the quote */
    /* the decoded string is no longer than the raw bytes up to the closing quote */
    size_t end = p->i;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    char *o = malloc((end < p->len ? end : p->len) - p->i + 1);
    size_t n = 0;
    for (;;) {
        if (p->i >= p->len) {
            free(o);
            return fail(p, "unterminated string");
        }
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            free(o);
            return fail(p, "raw control character 0x%02x in a string", c);
        }
        if (c != '\\') {
            if (raw_utf8(p, o, &n) != 0) {
                free(o);
                return -1;
            }
            continue;
        }
        p->i++;
        if (p->i >= p->len) {
            free(o);
            return fail(p, "unterminated escape");
        }
        c = p->s[p->i++];
        const char *simple = strchr("\"\\/bfnrt", c);
        if (c && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            o[n++] = map[simple - "\"\\/bfnrt"];
            continue;
        }
        if (c != 'u') {
            free(o);
            return fail(p, "bad escape \\%c", c);
        }
        unsigned cp;
        if (hex4(p, &cp) != 0) {
            free(o);
            return -1;
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            free(o);
            return fail(p, "lone low surrogate");
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (p->i + 2 > p->len || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
                free(o);
                return fail(p, "lone high surrogate");
            }
            p->i += 2;
            if (hex4(p, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                free(o);
                return fail(p, "bad surrogate pair");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        put_utf8(o, &n, cp);
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    return 0;
}

static int number(P *p, jv *v)
{
    size_t st = p->i;
    const unsigned char *s = p->s;
    if (p->i < p->len && s[p->i] == '-') p->i++;
    if (p->i >= p->len) return fail(p, "bad number");
    if (s[p->i] == '0') {
        p->i++;
    } else if (s[p->i] >= '1' && s[p->i] <= '9') {
        while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    } else
        return fail(p, "bad number");
    if (p->i < p->len && s[p->i] == '.') {
        p->i++;
        if (p->i >= p->len || s[p->i] < '0' || s[p->i] > '9') return fail(p, "bad fraction");
        while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    if (p->i < p->len && (s[p->i] == 'e' || s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->len && (s[p->i] == '+' || s[p->i] == '-')) p->i++;
        if (p->i >= p->len || s[p->i] < '0' || s[p->i] > '9') return fail(p, "bad exponent");
        while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    v->t = JV_NUM;
    v->str = malloc(p->i - st + 1);
    memcpy(v->str, s + st, p->i - st);
    v->str[p->i - st] = '\0';
    v->num = strtod(v->str, NULL);
    return 0;
}

static int word(P *p, const char *w)
{
    size_t n = strlen(w);
    if (p->i + n > p->len || memcmp(p->s + p->i, w, n) != 0) return fail(p, "unexpected token");
    p->i += n;
    return 0;
}

static int container(P *p, jv *v, int obj)
{
    p->i++;
    v->t = obj ? JV_OBJ : JV_ARR;
    size_t cap = 0;
    ws(p);
    if (p->i < p->len && p->s[p->i] == (obj ? '}' : ']')) {
        p->i++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            v->items = realloc(v->items, cap * sizeof *v->items);
            if (obj) v->keys = realloc(v->keys, cap * sizeof *v->keys);
        }
        memset(&v->items[v->n], 0, sizeof *v->items);
        if (obj) {
            ws(p);
            size_t kl;
            if (p->i >= p->len || p->s[p->i] != '"') return fail(p, "expected a key");
            if (string(p, &v->keys[v->n], &kl) != 0) return -1;
            ws(p);
            if (p->i >= p->len || p->s[p->i] != ':') {
                v->n++;
                return fail(p, "expected ':'");
            }
            p->i++;
        }
        v->n++;
        if (value(p, &v->items[v->n - 1]) != 0) return -1;
        ws(p);
        if (p->i >= p->len) return fail(p, "unterminated container");
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == (obj ? '}' : ']')) {
            p->i++;
            return 0;
        }
        return fail(p, "expected ',' or the end");
    }
}

static int value(P *p, jv *v)
{
    if (++p->depth > 200) return fail(p, "too deep");
    ws(p);
    if (p->i >= p->len) return fail(p, "expected a value");
    int rc;
    switch (p->s[p->i]) {
    case '{':
        rc = container(p, v, 1);
        break;
    case '[':
        rc = container(p, v, 0);
        break;
    case '"':
        v->t = JV_STR;
        rc = string(p, &v->str, &v->n);
        break;
    case 't':
        v->t = JV_BOOL;
        v->b = 1;
        rc = word(p, "true");
        break;
    case 'f':
        v->t = JV_BOOL;
        rc = word(p, "false");
        break;
    case 'n':
        v->t = JV_NULL;
        rc = word(p, "null");
        break;
    default:
        rc = number(p, v);
    }
    p->depth--;
    return rc;
}

static void jv_clear(jv *v)
{
    for (size_t i = 0; (v->t == JV_ARR || v->t == JV_OBJ) && i < v->n; i++) {
        jv_clear(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

void jv_free(jv *v)
{
    if (!v) return;
    jv_clear(v);
    free(v);
}

jv *jv_parse(const char *text, size_t len, char *err, size_t errlen)
{
    P p = {(const unsigned char *)text, len, 0, err, errlen, 0, 0};
    jv *v = calloc(1, sizeof *v);
    if (value(&p, v) == 0) {
        ws(&p);
        if (p.i != len) fail(&p, "trailing garbage");
    }
    if (p.failed) {
        jv_free(v);
        return NULL;
    }
    return v;
}

const jv *jv_get(const jv *v, const char *key)
{
    if (!v || v->t != JV_OBJ) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0) return &v->items[i];
    return NULL;
}

const jv *jv_path(const jv *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *s = buf;
    while (v && *s) {
        if (*s == '.') s++;
        if (*s == '[') {
            size_t idx = strtoul(s + 1, &s, 10);
            if (*s != ']' || v->t != JV_ARR || idx >= v->n) return NULL;
            s++;
            v = &v->items[idx];
            continue;
        }
        char *e = s + strcspn(s, ".[");
        char save = *e;
        *e = '\0';
        v = jv_get(v, s);
        *e = save;
        s = e;
    }
    return v;
}

const char *jv_str(const jv *v, const char *path)
{
    const jv *x = jv_path(v, path);
    return x && x->t == JV_STR ? x->str : NULL;
}

double jv_num(const jv *v, const char *path)
{
    const jv *x = jv_path(v, path);
    return x && x->t == JV_NUM ? x->num : NAN;
}

int jv_is_null(const jv *v, const char *path)
{
    const jv *x = jv_path(v, path);
    return x && x->t == JV_NULL;
}
