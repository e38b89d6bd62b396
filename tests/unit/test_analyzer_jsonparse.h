/*
 * A strict JSON parser (RFC 8259) for the analyzer's tests: what every JSON the analyzer writes
 * must pass. Rejects what the RFC rejects (control characters in strings, bad escapes, lone
 * surrogates, leading zeros, trailing garbage, invalid UTF-8), decodes strings to UTF-8, and
 * keeps numbers as doubles plus their source text. Slow and simple on purpose.
 */
#ifndef MPT_TESTS_ANALYZER_JSONPARSE_H
#define MPT_TESTS_ANALYZER_JSONPARSE_H

#include <stddef.h>

typedef enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

typedef struct jv {
    jv_type t;
    int b;
    double num;
    char *str;        /* JV_STR: decoded, NUL-terminated (len in n); JV_NUM: the source text */
    size_t n;         /* JV_STR: bytes; JV_ARR/JV_OBJ: elements */
    struct jv *items; /* JV_ARR, JV_OBJ values */
    char **keys;      /* JV_OBJ */
} jv;

/* NULL with a message (and the byte offset) when text is not exactly one JSON value. */
jv *jv_parse(const char *text, size_t len, char *err, size_t errlen);
void jv_free(jv *v);
/* Member `key` of an object (NULL if absent or not an object). */
const jv *jv_get(const jv *v, const char *key);
/* A path of members and indexes: "first_nonfinite.layer", "layers[3].name". NULL if absent. */
const jv *jv_path(const jv *v, const char *path);
/* Convenience: the string at path or NULL; the number at path or NAN; 1 when it is null. */
const char *jv_str(const jv *v, const char *path);
double jv_num(const jv *v, const char *path);
int jv_is_null(const jv *v, const char *path);

#endif
