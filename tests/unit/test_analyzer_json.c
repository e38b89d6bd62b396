/*
 * The JSON writer against a strict parser (tests/unit/test_analyzer_jsonparse.c): escaping
 * (every control character, quotes, backslashes), UTF-8 passed through exactly and invalid bytes
 * replaced so the output always parses, doubles that read back bit for bit (random bit patterns,
 * subnormals, extremes, -0; NaN and Inf as null), and the structure checks.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/json.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/trace_samples.h"

/* Runs f(j) into a memory stream; returns the text (caller frees) and the writer's status. */
typedef void (*writer_fn)(mpt_json *j, void *arg);

static char *emit(writer_fn f, void *arg, int pretty, int *status, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    mpt_json j;
    mpt_json_init(&j, m, pretty);
    f(&j, arg);
    *status = mpt_json_finish(&j);
    fclose(m);
    *len = n;
    return buf;
}

static void write_string(mpt_json *j, void *arg)
{
    const char **s = arg;
    mpt_json_strn(j, s[0], (size_t)(uintptr_t)s[1]);
}

/* Slow reference: is s[0..n) valid UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF)? */
static int ref_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        size_t len;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if (s[i] >= 0xc0 && s[i] < 0xe0) {
            len = 2;
            cp = s[i] & 0x1f;
        } else if (s[i] >= 0xe0 && s[i] < 0xf0) {
            len = 3;
            cp = s[i] & 0x0f;
        } else if (s[i] >= 0xf0 && s[i] < 0xf8) {
            len = 4;
            cp = s[i] & 0x07;
        } else {
            return 0;
        }
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static jv *parse_string_value(const char *s, size_t n, char **text)
{
    const char *arg[2] = {s, (const char *)(uintptr_t)n};
    int st;
    size_t len;
    *text = emit(write_string, arg, 0, &st, &len);
    ck_assert_int_eq(st, 0);
    char err[256];
    jv *v = jv_parse(*text, len, err, sizeof err);
    MPT_CHECK(v != NULL, "not JSON (%s): %s", err, *text);
    MPT_CHECK(v->t == JV_STR, "not a string");
    return v;
}

static const struct {
    const char *in;
    const char *out;
} escapes[] = {
    {"plain", "\"plain\"\n"},
    {"a\"b", "\"a\\\"b\"\n"},
    {"back\\slash", "\"back\\\\slash\"\n"},
    {"nl\ntab\tcr\r", "\"nl\\ntab\\tcr\\r\"\n"},
    {"\b\f", "\"\\b\\f\"\n"},
    {"\x01\x1f", "\"\\u0001\\u001f\"\n"},
    {"\x7f", "\"\x7f\"\n"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n"},
    {"bad\xff", "\"bad\\ufffd\"\n"},
    {"\xc0\xaf", "\"\\ufffd\\ufffd\"\n"},            /* overlong '/' */
    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"\n"}, /* a UTF-16 surrogate */
    {"\xe2\x82", "\"\\ufffd\\ufffd\"\n"},            /* cut short */
    {"</script>", "\"</script>\"\n"},
};

START_TEST(test_json_escapes_table)
{
    for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
        const char *arg[2] = {escapes[i].in, (const char *)(uintptr_t)strlen(escapes[i].in)};
        int st;
        size_t len;
        char *t = emit(write_string, arg, 0, &st, &len);
        ck_assert_int_eq(st, 0);
        ck_assert_str_eq(t, escapes[i].out);
        free(t);
    }
    /* an embedded NUL is data, not the end */
    const char nul[] = {'a', 0, 'b'};
    char *t;
    jv *v = parse_string_value(nul, 3, &t);
    ck_assert_uint_eq(v->n, 3);
    ck_assert(memcmp(v->str, nul, 3) == 0);
    jv_free(v);
    free(t);
}
END_TEST

START_TEST(test_json_strings_random)
{
    uint64_t rng = 99;
    unsigned char s[64];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = mpt_test_rand(&rng) % sizeof s;
        int mode = iter % 3;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = mpt_test_rand(&rng);
            /* mode 0: any byte; 1: mostly ASCII and controls; 2: UTF-8 lead/continuation mix */
            s[i] = mode == 0   ? (unsigned char)r
                   : mode == 1 ? (unsigned char)(r % 0x80)
                               : (unsigned char)(0x80 + r % 0x78);
        }
        char *t;
        jv *v = parse_string_value((const char *)s, n, &t);
        if (ref_valid_utf8(s, n)) {
            MPT_CHECK(v->n == n && memcmp(v->str, s, n) == 0, "valid UTF-8 changed: %s", t);
        } else {
            /* every invalid byte became U+FFFD (3 bytes); the output is valid UTF-8 */
            MPT_CHECK(memmem(v->str, v->n, "\xef\xbf\xbd", 3) != NULL, "no replacement in %s", t);
        }
        MPT_CHECK(ref_valid_utf8((const unsigned char *)v->str, v->n), "output not UTF-8");
        jv_free(v);
        free(t);
    }
}
END_TEST

static void write_num(mpt_json *j, void *arg)
{
    mpt_json_num(j, *(double *)arg);
}

static void check_double(double d)
{
    int st;
    size_t len;
    char *t = emit(write_num, &d, 0, &st, &len);
    ck_assert_int_eq(st, 0);
    char err[128];
    jv *v = jv_parse(t, len, err, sizeof err);
    MPT_CHECK(v != NULL, "%a printed as invalid JSON '%s': %s", d, t, err);
    if (!isfinite(d)) {
        MPT_CHECK(v->t == JV_NULL, "%a should print as null, got %s", d, t);
    } else {
        MPT_CHECK(v->t == JV_NUM, "%a: not a number: %s", d, t);
        MPT_CHECK(memcmp(&v->num, &d, sizeof d) == 0, "%a read back as %a from %s", d, v->num, t);
        MPT_CHECK(strlen(v->str) <= 24, "%a printed long: %s", d, t);
    }
    jv_free(v);
    free(t);
}

START_TEST(test_json_doubles)
{
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   1.0 / 3,
                                   65504.0,
                                   65520.0,
                                   5.960464477539063e-08,
                                   1e300,
                                   -1e-300,
                                   5e-324,
                                   2.2250738585072014e-308,
                                   1.7976931348623157e308,
                                   123456789012345678.0,
                                   9007199254740993.0,
                                   NAN,
                                   -NAN,
                                   INFINITY,
                                   -INFINITY};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        check_double(fixed[i]);
    uint64_t rng = 7;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = mpt_test_rand(&rng);
        double d;
        memcpy(&d, &bits, sizeof d);
        check_double(d);
    }
}
END_TEST

static void write_doc(mpt_json *j, void *arg)
{
    (void)arg;
    mpt_json_object_begin(j);
    mpt_json_kstr(j, "s", "x");
    mpt_json_kint(j, "i", INT64_MIN);
    mpt_json_kuint(j, "u", UINT64_MAX);
    mpt_json_kbool(j, "t", 1);
    mpt_json_key(j, "a");
    mpt_json_array_begin(j);
    mpt_json_array_end(j);
    mpt_json_key(j, "o");
    mpt_json_object_begin(j);
    mpt_json_key(j, "nested");
    mpt_json_array_begin(j);
    mpt_json_null(j);
    mpt_json_num(j, 2.5);
    mpt_json_str(j, NULL);
    mpt_json_array_end(j);
    mpt_json_object_end(j);
    mpt_json_object_end(j);
}

START_TEST(test_json_document)
{
    for (int pretty = 0; pretty < 2; pretty++) {
        int st;
        size_t len;
        char *t = emit(write_doc, NULL, pretty, &st, &len);
        ck_assert_int_eq(st, 0);
        char err[128];
        jv *v = jv_parse(t, len, err, sizeof err);
        MPT_CHECK(v != NULL, "%s: %s", err, t);
        ck_assert_str_eq(jv_str(v, "s"), "x");
        ck_assert_str_eq(jv_path(v, "i")->str, "-9223372036854775808");
        ck_assert_str_eq(jv_path(v, "u")->str, "18446744073709551615");
        ck_assert(jv_path(v, "t")->b);
        ck_assert_uint_eq(jv_path(v, "a")->n, 0);
        ck_assert(jv_is_null(v, "o.nested[0]"));
        ck_assert(jv_num(v, "o.nested[1]") == 2.5);
        ck_assert(jv_is_null(v, "o.nested[2]"));
        jv_free(v);
        free(t);
    }
}
END_TEST

static void misuse_key_in_array(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_array_begin(j);
    mpt_json_key(j, "k");
    mpt_json_int(j, 1);
    mpt_json_array_end(j);
}
static void misuse_value_no_key(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_object_begin(j);
    mpt_json_int(j, 1);
    mpt_json_object_end(j);
}
static void misuse_unbalanced(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_object_begin(j);
    mpt_json_array_end(j);
}
static void misuse_open(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_array_begin(j);
}
static void misuse_two_values(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_int(j, 1);
    mpt_json_int(j, 2);
}
static void misuse_dangling_key(mpt_json *j, void *a)
{
    (void)a;
    mpt_json_object_begin(j);
    mpt_json_key(j, "k");
    mpt_json_object_end(j);
}
static void misuse_nothing(mpt_json *j, void *a)
{
    (void)j;
    (void)a;
}

START_TEST(test_json_misuse)
{
    writer_fn bad[] = {misuse_key_in_array, misuse_value_no_key, misuse_unbalanced, misuse_open,
                       misuse_two_values,   misuse_dangling_key, misuse_nothing};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int st;
        size_t len;
        char *t = emit(bad[i], NULL, 0, &st, &len);
        MPT_CHECK(st == -1, "misuse %zu not reported: %s", i, t);
        free(t);
    }
}
END_TEST

extern Suite *suite_analyzer_json(void);
Suite *suite_analyzer_json(void)
{
    Suite *s = suite_create("analyzer_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_json_escapes_table);
    tcase_add_test(tc, test_json_strings_random);
    tcase_add_test(tc, test_json_doubles);
    tcase_add_test(tc, test_json_document);
    tcase_add_test(tc, test_json_misuse);
    suite_add_tcase(s, tc);
    return s;
}
