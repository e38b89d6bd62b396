/*
 * The drawing surface (canvas.h): cells of code points and styles, UTF-8 in and out.
 *
 * One cell per code point. Names in traces are NVTX strings from any program, so text is
 * decoded defensively: invalid UTF-8, control characters and code points that a terminal may
 * draw zero or two cells wide (combining marks, CJK, emoji) become '?', which keeps every
 * column where the layout put it. The set kept is deliberately simple and locale-free (the
 * same in a snapshot as on a terminal): Latin, Greek, Cyrillic, and the punctuation, arrows,
 * box-drawing and block ranges the views use.
 *
 * Plots: bars are drawn in eighths of a cell with the block elements U+2581..U+2588 (ASCII: a
 * coarse substitute), so a three-row plot has 24 levels. A flat series (hi == lo) draws every
 * valid sample at half height rather than dividing by zero.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tui/canvas.h"

int mpt_canvas_init(mpt_canvas *c, int w, int h, int unicode)
{
    memset(c, 0, sizeof *c);
    c->unicode = unicode;
    return mpt_canvas_resize(c, w, h);
}

int mpt_canvas_resize(mpt_canvas *c, int w, int h)
{
    if (w < 0) w = 0;
    if (h < 0) h = 0;
    size_t n = (size_t)w * (size_t)h;
    uint32_t *cp = malloc((n ? n : 1) * sizeof *cp);
    uint8_t *sty = malloc(n ? n : 1);
    if (!cp || !sty) {
        free(cp);
        free(sty);
        return -1;
    }
    free(c->cp);
    free(c->sty);
    c->cp = cp;
    c->sty = sty;
    c->w = w;
    c->h = h;
    mpt_canvas_clear(c);
    return 0;
}

void mpt_canvas_free(mpt_canvas *c)
{
    free(c->cp);
    free(c->sty);
    c->cp = NULL;
    c->sty = NULL;
    c->w = c->h = 0;
}

void mpt_canvas_clear(mpt_canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    for (size_t i = 0; i < n; i++)
        c->cp[i] = ' ';
    memset(c->sty, 0, n);
}

void mpt_canvas_set(mpt_canvas *c, int x, int y, uint32_t cp, unsigned sty)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    size_t i = (size_t)y * (size_t)c->w + (size_t)x;
    c->cp[i] = cp;
    c->sty[i] = (uint8_t)sty;
}

void mpt_canvas_style(mpt_canvas *c, int x, int y, int n, unsigned sty)
{
    if (y < 0 || y >= c->h) return;
    for (int i = 0; i < n; i++)
        if (x + i >= 0 && x + i < c->w) c->sty[(size_t)y * (size_t)c->w + (size_t)(x + i)] = (uint8_t)sty;
}

void mpt_canvas_fill(mpt_canvas *c, const mpt_rect *r, uint32_t cp, unsigned sty)
{
    for (int y = r->y; y < r->y + r->h; y++)
        for (int x = r->x; x < r->x + r->w; x++)
            mpt_canvas_set(c, x, y, cp, sty);
}

static int narrow_printable(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
    if (cp < 0x300) return 1;                    /* Latin */
    if (cp >= 0x370 && cp < 0x530) return 1;     /* Greek, Cyrillic */
    if (cp >= 0x2010 && cp < 0x2070) return 1;   /* punctuation */
    if (cp >= 0x2190 && cp < 0x2400) return 1;   /* arrows, maths, technical */
    if (cp >= 0x2500 && cp < 0x2600) return 1;   /* box drawing, blocks, shapes */
    return 0;
}

/* Decodes one UTF-8 sequence at s; *len gets its byte length (>= 1). Invalid: '?'. */
static uint32_t utf8_next(const unsigned char *s, int *len)
{
    unsigned char b = s[0];
    int n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0) {
        *len = 1;
        return '?';
    }
    uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1fu : n == 3 ? b & 0x0fu : b & 0x07u;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *len = i;
            return '?';
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    *len = n;
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return '?';
    return cp;
}

int mpt_canvas_text(mpt_canvas *c, int x, int y, int maxw, unsigned sty, const char *s)
{
    if (maxw < 0) maxw = c->w - x;
    if (maxw <= 0 || !s) return 0;
    const unsigned char *p = (const unsigned char *)s;
    int n = 0;
    while (*p) {
        int len;
        uint32_t cp = utf8_next(p, &len);
        p += len;
        if (!narrow_printable(cp)) cp = '?';
        if (n == maxw - 1 && *p) { /* one cell left and more to come: mark the cut */
            mpt_canvas_set(c, x + n, y, mpt_canvas_glyph(c, MPT_G_ELLIPSIS), sty);
            return maxw;
        }
        mpt_canvas_set(c, x + n, y, cp, sty);
        n++;
    }
    return n;
}

int mpt_canvas_printf(mpt_canvas *c, int x, int y, int maxw, unsigned sty, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return mpt_canvas_text(c, x, y, maxw, sty, buf);
}

static int text_cells(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80) n++;
    return n;
}

int mpt_canvas_rtext(mpt_canvas *c, int x_end, int y, unsigned sty, const char *s)
{
    int n = text_cells(s);
    return mpt_canvas_text(c, x_end - n, y, n, sty, s);
}

uint32_t mpt_canvas_glyph(const mpt_canvas *c, mpt_glyph g)
{
    static const uint32_t uni[MPT_G_COUNT] = {0x2500, 0x2502, 0x2026, 0x25b8, 0x00b7, 0x25b2, 0x2013};
    static const uint32_t ascii[MPT_G_COUNT] = {'-', '|', '~', '>', '.', '*', '-'};
    return (unsigned)g < MPT_G_COUNT ? (c->unicode ? uni[g] : ascii[g]) : '?';
}

uint32_t mpt_canvas_bar(const mpt_canvas *c, int eighths)
{
    static const uint32_t uni[9] = {' ', 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588};
    static const uint32_t ascii[9] = {' ', '_', '_', '.', '.', 'o', 'o', '#', '#'};
    if (eighths < 0) eighths = 0;
    if (eighths > 8) eighths = 8;
    return c->unicode ? uni[eighths] : ascii[eighths];
}

int mpt_utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *mpt_canvas_row(const mpt_canvas *c, int y, char *buf, size_t n)
{
    size_t used = 0, keep = 0;
    if (!n) return buf;
    for (int x = 0; y >= 0 && y < c->h && x < c->w; x++) {
        char u[4];
        uint32_t cp = c->cp[(size_t)y * (size_t)c->w + (size_t)x];
        int k = mpt_utf8_encode(cp, u);
        if (used + (size_t)k + 1 > n) break;
        memcpy(buf + used, u, (size_t)k);
        used += (size_t)k;
        if (cp != ' ') keep = used;
    }
    buf[keep] = '\0';
    return buf;
}

int mpt_canvas_print(const mpt_canvas *c, FILE *out)
{
    size_t n = (size_t)c->w * 4 + 1;
    char *buf = malloc(n);
    if (!buf) return -1;
    for (int y = 0; y < c->h; y++)
        if (fprintf(out, "%s\n", mpt_canvas_row(c, y, buf, n)) < 0) {
            free(buf);
            return -1;
        }
    free(buf);
    return fflush(out) == 0 ? 0 : -1;
}

/* ---- ring buffers and plots ------------------------------------------------------------------ */

int mpt_tui_ring_init(mpt_tui_ring *r, int cap)
{
    if (cap < 1) cap = 1;
    r->s = calloc((size_t)cap, sizeof *r->s);
    r->cap = r->s ? cap : 0;
    r->head = r->n = 0;
    return r->s ? 0 : -1;
}

void mpt_tui_ring_free(mpt_tui_ring *r)
{
    free(r->s);
    r->s = NULL;
    r->cap = r->head = r->n = 0;
}

void mpt_tui_ring_clear(mpt_tui_ring *r)
{
    r->head = r->n = 0;
}

void mpt_tui_ring_push(mpt_tui_ring *r, double v, int valid, unsigned flags)
{
    if (!r->cap) return;
    int at = (r->head + r->n) % r->cap;
    if (r->n == r->cap) { /* full: overwrite the oldest */
        at = r->head;
        r->head = (r->head + 1) % r->cap;
    } else {
        r->n++;
    }
    r->s[at].v = v;
    r->s[at].valid = valid ? 1 : 0;
    r->s[at].flags = (uint8_t)flags;
}

const mpt_tui_sample *mpt_tui_ring_at(const mpt_tui_ring *r, int i)
{
    if (i < 0 || i >= r->n) return NULL;
    return &r->s[(r->head + i) % r->cap];
}

int mpt_tui_ring_range(const mpt_tui_ring *r, double *lo, double *hi)
{
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        const mpt_tui_sample *s = mpt_tui_ring_at(r, i);
        if (!s->valid || !isfinite(s->v)) continue;
        if (!n || s->v < *lo) *lo = s->v;
        if (!n || s->v > *hi) *hi = s->v;
        n++;
    }
    return n;
}

int mpt_tui_plot_eighths(double v, double lo, double hi, int cells)
{
    int top = cells * 8;
    if (top < 1) return 0;
    double f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    if (!(f >= 0)) f = 0; /* also NaN */
    if (f > 1) f = 1;
    int e = (int)lround(f * top);
    return e < 1 ? 1 : e > top ? top : e;
}

void mpt_tui_plot_bars(mpt_canvas *c, const mpt_rect *rect, const mpt_tui_ring *r, double lo,
                       double hi, unsigned sty, unsigned nf_sty)
{
    for (int i = 0; i < r->n && i < rect->w; i++) {
        const mpt_tui_sample *s = mpt_tui_ring_at(r, i);
        int x = rect->x + i;
        if (!s->valid) continue;
        if (!isfinite(s->v)) {
            for (int y = 0; y < rect->h; y++)
                mpt_canvas_set(c, x, rect->y + y, y == 0 ? '!' : mpt_canvas_bar(c, 8), nf_sty);
            continue;
        }
        int e = mpt_tui_plot_eighths(s->v, lo, hi, rect->h);
        for (int y = rect->h - 1; y >= 0 && e > 0; y--, e -= 8)
            mpt_canvas_set(c, x, rect->y + y, mpt_canvas_bar(c, e > 8 ? 8 : e), sty);
    }
}

void mpt_tui_plot_spark(mpt_canvas *c, int x, int y, int w, const mpt_tui_ring *r, double lo,
                        double hi, unsigned sty, unsigned nf_sty)
{
    for (int i = 0; i < r->n && i < w; i++) {
        const mpt_tui_sample *s = mpt_tui_ring_at(r, i);
        if (!s->valid) continue;
        if (!isfinite(s->v))
            mpt_canvas_set(c, x + i, y, '!', nf_sty);
        else
            mpt_canvas_set(c, x + i, y, mpt_canvas_bar(c, mpt_tui_plot_eighths(s->v, lo, hi, 1)),
                           sty);
    }
}
