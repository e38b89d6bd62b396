/*
 * A small streaming JSON writer: the only way the analyzer writes JSON (report --json, JSONL
 * and Chrome-trace exports), so every string is escaped and every number is valid JSON.
 *
 *   - Strings are UTF-8: '"', '\\' and control characters are escaped; bytes that are not
 *     valid UTF-8 (names come from other programs) become U+FFFD, so the output always parses.
 *   - Numbers: integers exactly; doubles in the shortest form that reads back to the same value
 *     (at most 17 significant digits); NaN and +-Inf, which JSON cannot express, as null.
 *   - Structure is checked: a key outside an object, a value without a key inside one, or
 *     unbalanced ends set an error that mpt_json_finish reports (a programming error, caught by
 *     the tests).
 * Output is compact, or indented by 2 spaces per level with `pretty`.
 */
#ifndef MPT_ANALYZER_JSON_H
#define MPT_ANALYZER_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPT_JSON_MAX_DEPTH 32

typedef struct mpt_json {
    FILE *f;
    int pretty;
    int depth;
    unsigned char is_object[MPT_JSON_MAX_DEPTH]; /* per open level: object (1) or array (0) */
    unsigned char count[MPT_JSON_MAX_DEPTH];     /* elements so far at that level (saturates) */
    int have_key;                                /* a key was written and awaits its value */
    int misuse;                                  /* structure error (see above) */
} mpt_json;

void mpt_json_init(mpt_json *j, FILE *f, int pretty);
void mpt_json_object_begin(mpt_json *j);
void mpt_json_object_end(mpt_json *j);
void mpt_json_array_begin(mpt_json *j);
void mpt_json_array_end(mpt_json *j);
void mpt_json_key(mpt_json *j, const char *key);
void mpt_json_str(mpt_json *j, const char *s); /* NULL: null */
void mpt_json_strn(mpt_json *j, const char *s, size_t len);
void mpt_json_int(mpt_json *j, int64_t v);
void mpt_json_uint(mpt_json *j, uint64_t v);
void mpt_json_num(mpt_json *j, double v); /* NaN, +-Inf: null */
void mpt_json_bool(mpt_json *j, int v);
void mpt_json_null(mpt_json *j);
/* key + value in one call */
void mpt_json_kstr(mpt_json *j, const char *key, const char *s);
void mpt_json_kint(mpt_json *j, const char *key, int64_t v);
void mpt_json_kuint(mpt_json *j, const char *key, uint64_t v);
void mpt_json_knum(mpt_json *j, const char *key, double v);
void mpt_json_kbool(mpt_json *j, const char *key, int v);
/* Ends the document (a newline). 0 when the structure was complete and every write succeeded;
 * -1 otherwise. */
int mpt_json_finish(mpt_json *j);
/* The same check without writing anything: for values written inside a hand-made container. */
int mpt_json_done(const mpt_json *j);

/* Writes s as a JSON string literal (quotes included) to f: the escaping above, for callers
 * that build a line by hand (JSONL rows, SQL-free CSV is not JSON). */
void mpt_json_write_string(FILE *f, const char *s, size_t len);
/* Formats v as the JSON number described above into buf (>= 32 bytes); "null" for non-finite. */
void mpt_json_format_double(char *buf, size_t n, double v);

#endif
