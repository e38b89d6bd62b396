/*
 * Test fixtures for the trace suites (trace_roundtrip, trace_corrupt): a set of records with one
 * or more of every type, filled with extreme values (NaN payloads, -0, Inf, subnormals, max
 * u64, negative steps, unknown enum values, empty and over-long strings), a way to write them
 * through the real writer, and a field-by-field comparison for records read back.
 */
#ifndef MPT_TESTS_TRACE_SAMPLES_H
#define MPT_TESTS_TRACE_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "core/trace_format.h"

#define MPT_TEST_MAX_SAMPLES 40

typedef struct mpt_test_samples {
    size_t nstrings;
    const char *strings[12]; /* interned in order: string i has id i + 1 */
    size_t string_len[12];   /* bytes as stored (the long one is cut at MPT_TRACE_TEXT_MAX) */
    char *long_string;       /* owned */
    char *long_message;      /* owned */
    size_t long_message_len; /* as given to the writer (rec[] holds the cut length) */
    size_t n;
    mpt_trace_record rec[MPT_TEST_MAX_SAMPLES]; /* as they must read back; the last is END */
    mpt_trace_header header;
} mpt_test_samples;

/* Builds the samples (heap-allocated: the records are large). The long string and the long
 * message are made of 3-byte UTF-8 characters, of the given byte lengths: over
 * MPT_TRACE_TEXT_MAX they test the writer's cut; small, they make a small trace. */
mpt_test_samples *mpt_test_samples_new(size_t long_string, size_t long_message);
#define MPT_TEST_SAMPLES_BIG   100000, 70000
#define MPT_TEST_SAMPLES_SMALL 40, 31
void mpt_test_samples_free(mpt_test_samples *s);

/* Writes header, strings (in order) and records to `path` through mpt_trace_writer and closes
 * it. Returns 0, or -1 with a message. */
int mpt_test_samples_write(const mpt_test_samples *s, const char *path, char *err, size_t errlen);

/* NULL when `got` equals `want` (type and every field, doubles bit for bit), else a static
 * description of the first difference. Offsets and payload lengths are not compared. */
const char *mpt_test_record_diff(const mpt_trace_record *want, const mpt_trace_record *got);

/* A fresh, empty temporary file; its path in buf. */
void mpt_test_tmpfile(char *buf, size_t n, const char *tag);
/* Reads a whole file into a malloc'ed buffer. Returns 0 or -1. */
int mpt_test_slurp(const char *path, uint8_t **data, size_t *len);
/* Writes len bytes to path (created or truncated); a failure fails the test. */
void mpt_test_write_file(const char *path, const void *data, size_t len);

/* An assertion for hot loops: Check's ck_assert_* record a "mark point" through a pipe on
 * every call, even when they pass, which makes loops over every byte offset slow (and
 * very slow under ASan). This one costs nothing until it fails. Include <check.h> first. */
#define MPT_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                    \
    } while (0)

/* FNV-1a over n bytes, continuing from h (start from MPT_TEST_FNV_START): the reader suites
 * fingerprint the records they read with it, to compare two ways of reading. */
#define MPT_TEST_FNV_START 0xcbf29ce484222325ull
uint64_t mpt_test_fnv(uint64_t h, const void *p, size_t n);

/* splitmix64: the suites' deterministic random numbers. */
uint64_t mpt_test_rand(uint64_t *state);

#endif
