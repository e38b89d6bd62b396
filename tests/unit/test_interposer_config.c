/*
 * The interposer's pure pieces, in process: MPTRACE_* parsing, trace file names and ranks,
 * NVTX marks, step-range names, automatic step detection, call-site names, and the symbol
 * versions libmptrace.so exports (against NVIDIA's libraries when they are installed).
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interposer/ipx.h"
#include "test_interposer_util.h"

/* ---- a fake environment ---------------------------------------------------------------------- */

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = fake_env; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static int parse(const char *const *env, mpt_ipx_config *c, char *err, size_t errlen)
{
    fake_env = env;
    return mpt_ipx_config_parse(c, fake_getenv, err, errlen);
}

START_TEST(test_config_defaults)
{
    mpt_ipx_config c;
    char err[256];
    ck_assert_int_eq(parse(NULL, &c, err, sizeof err), 0);
    ck_assert_int_eq(c.stats, 1);
    ck_assert_int_eq(c.full, 0);
    ck_assert_int_eq(c.every, MPT_IPX_DEFAULT_EVERY);
    ck_assert_int_eq(c.inputs, 1);
    ck_assert_int_eq(c.sample, MPT_IPX_DEFAULT_SAMPLE);
    ck_assert_int_eq(c.host_readable, -1);
    ck_assert_int_eq(c.has_layers, 0);
    ck_assert_str_eq(c.output, "");
    mpt_ipx_config_free(&c);
}
END_TEST

/* Table: environment -> the field it sets (or a parse error keeping the default). */
static const struct {
    const char *env[3];
    int ok;
    int every, full, inputs, sample, stats, depth, host;
} config_cases[] = {
    {{"MPTRACE_EVERY=3"}, 1, 3, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_EVERY=0", "MPTRACE_FULL=1"}, 1, 0, 1, 1, 64, 1, 2, -1},
    {{"MPTRACE_NO_INPUTS=yes", "MPTRACE_SAMPLE=0"}, 1, 10, 0, 0, 0, 1, 2, -1},
    {{"MPTRACE_STATS=off", "MPTRACE_CALLSITE_DEPTH=5"}, 1, 10, 0, 1, 64, 0, 5, -1},
    {{"MPTRACE_HOST_READABLE=1"}, 1, 10, 0, 1, 64, 1, 2, 1},
    {{"MPTRACE_HOST_READABLE=auto"}, 1, 10, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_EVERY=-1"}, 0, 10, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_EVERY=10x"}, 0, 10, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_SAMPLE=lots", "MPTRACE_EVERY=4"}, 0, 4, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_FULL=maybe"}, 0, 10, 0, 1, 64, 1, 2, -1},
    {{"MPTRACE_CALLSITE_DEPTH=9"}, 0, 10, 0, 1, 64, 1, 2, -1},
};

START_TEST(test_config_table)
{
    mpt_ipx_config c;
    char err[256];
    int rc = parse(config_cases[_i].env, &c, err, sizeof err);
    ck_assert_msg((rc == 0) == config_cases[_i].ok, "case %d: rc %d (%s)", _i, rc, err);
    if (!config_cases[_i].ok) ck_assert_msg(strstr(err, "MPTRACE_") != NULL, "%s", err);
    ck_assert_int_eq(c.every, config_cases[_i].every);
    ck_assert_int_eq(c.full, config_cases[_i].full);
    ck_assert_int_eq(c.inputs, config_cases[_i].inputs);
    ck_assert_int_eq(c.sample, config_cases[_i].sample);
    ck_assert_int_eq(c.stats, config_cases[_i].stats);
    ck_assert_int_eq(c.callsite_depth, config_cases[_i].depth);
    ck_assert_int_eq(c.host_readable, config_cases[_i].host);
    mpt_ipx_config_free(&c);
}
END_TEST

START_TEST(test_config_regexes)
{
    mpt_ipx_config c;
    char err[256];
    const char *env[] = {"MPTRACE_LAYERS=^fwd/.*/attn", "MPTRACE_ANOMALY_FACTOR=16", NULL};
    ck_assert_int_eq(parse(env, &c, err, sizeof err), 0);
    ck_assert_int_eq(c.has_layers, 1);
    ck_assert_int_eq(regexec(&c.layers, "fwd/blk3/attn/qkv", 0, NULL, 0), 0);
    ck_assert_int_ne(regexec(&c.layers, "bwd/blk3/attn/qkv", 0, NULL, 0), 0);
    ck_assert(c.anomaly_factor == 16.0);
    mpt_ipx_config_free(&c);
    const char *bad[] = {"MPTRACE_LAYERS=(unclosed", "MPTRACE_ANOMALY_FACTOR=0.5", NULL};
    ck_assert_int_eq(parse(bad, &c, err, sizeof err), -1); /* the first problem is named */
    ck_assert_msg(strstr(err, "MPTRACE_ANOMALY_FACTOR") != NULL, "%s", err);
    ck_assert_int_eq(c.has_layers, 0);
    ck_assert(c.anomaly_factor == MPT_IPX_DEFAULT_ANOMALY);
    mpt_ipx_config_free(&c);
}
END_TEST

/* ---- step range names ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int match;
    int64_t number;
} step_names[] = {
    {"train_step 7", 1, 7},   {"train_step", 1, -1},      {"step", 1, -1},
    {"Step 12", 1, 12},       {"iteration:3", 1, 3},      {"TRAIN_STEP_0", 1, 0},
    {"train step 41", 1, 41}, {"iter 5", 1, 5},           {"optimizer_step", 0, 0},
    {"fwd/step", 0, 0},       {"stepper", 0, 0},          {"step 3 of 10", 0, 0},
    {"train_step_fn", 0, 0},  {"", 0, 0},
};

START_TEST(test_step_pattern)
{
    mpt_ipx_config c;
    ck_assert_int_eq(parse(NULL, &c, NULL, 0), 0);
    int64_t n = -99;
    int m = mpt_ipx_step_match(&c.step_re, step_names[_i].name, &n);
    ck_assert_msg(m == step_names[_i].match, "'%s': match %d", step_names[_i].name, m);
    if (m) ck_assert_int_eq(n, step_names[_i].number);
    mpt_ipx_config_free(&c);
}
END_TEST

/* ---- marks ------------------------------------------------------------------------------------- */

START_TEST(test_mark_parse)
{
    mpt_ipx_kv kv[8];
    ck_assert_int_eq(mpt_ipx_mark_parse("loss=1", kv, 8), -1);
    ck_assert_int_eq(mpt_ipx_mark_parse(NULL, kv, 8), -1);
    ck_assert_int_eq(mpt_ipx_mark_parse("mptrace:", kv, 8), 0);
    int n = mpt_ipx_mark_parse("mptrace:step=12 loss=2.5 scale=65536 skip=1 grad_norm=nan "
                               "lr=6e-4 tag=warmup bare  x=inf,y=-0.5;z=1e400",
                               kv, 8);
    ck_assert_int_eq(n, 8);
    static const char *const keys[] = {"step", "loss", "scale", "skip", "grad_norm", "lr", "x", "y"};
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(kv[i].key, keys[i]);
    ck_assert(kv[0].value == 12 && kv[1].value == 2.5 && kv[2].value == 65536 && kv[3].value == 1);
    ck_assert(isnan(kv[4].value));
    ck_assert(kv[5].value == 6e-4 && isinf(kv[6].value) && kv[7].value == -0.5);
    /* the array bound is respected */
    ck_assert_int_eq(mpt_ipx_mark_parse("mptrace:a=1 b=2 c=3", kv, 2), 2);
    /* keys too long for the record are dropped, not cut */
    ck_assert_int_eq(mpt_ipx_mark_parse("mptrace:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1 "
                                        "b=2",
                                        kv, 8),
                     1);
    ck_assert_str_eq(kv[0].key, "b");
}
END_TEST

/* ---- trace names and ranks ---------------------------------------------------------------------- */

static const struct {
    const char *base, *prog;
    long pid, root;
    int rank;
    const char *want;
} names[] = {
    {"/t/run.mpt", "train", 100, 100, -1, "/t/run.mpt"},
    {"/t/run.mpt", "train", 101, 100, -1, "/t/run.pid101.mpt"},
    {"/t/run.mpt", "train", 100, 100, 3, "/t/run.rank3.mpt"},
    {"/t/run.mpt", "train", 105, 100, 0, "/t/run.rank0.mpt"},
    {"/t/run", "train", 101, 100, -1, "/t/run.pid101"},
    {"", "/usr/bin/python3", 42, 7, -1, "mptrace-python3-42.mpt"},
    {"", "./a.out", 42, 42, 2, "mptrace-a.out-42.rank2.mpt"},
};

START_TEST(test_trace_names)
{
    char out[512];
    ck_assert_int_eq(mpt_ipx_trace_name(out, sizeof out, names[_i].base, names[_i].prog,
                                        names[_i].pid, names[_i].root, names[_i].rank),
                     0);
    ck_assert_str_eq(out, names[_i].want);
    char tiny[8];
    ck_assert_int_eq(mpt_ipx_trace_name(tiny, sizeof tiny, "/long/path/name.mpt", "p", 1, 2, -1),
                     -1);
}
END_TEST

START_TEST(test_rank_from_env)
{
    int local, world;
    const char *torch[] = {"RANK=5", "LOCAL_RANK=1", "WORLD_SIZE=8", NULL};
    fake_env = torch;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), 5);
    ck_assert_int_eq(local, 1);
    ck_assert_int_eq(world, 8);
    const char *slurm[] = {"SLURM_PROCID=12", "SLURM_LOCALID=0", "SLURM_NTASKS=16", NULL};
    fake_env = slurm;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), 12);
    ck_assert_int_eq(world, 16);
    const char *mpi[] = {"OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_SIZE=4", NULL};
    fake_env = mpi;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), 3);
    ck_assert_int_eq(local, -1);
    const char *local_only[] = {"LOCAL_RANK=2", NULL};
    fake_env = local_only;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), 2);
    const char *junk[] = {"RANK=x", "LOCAL_RANK=-1", NULL};
    fake_env = junk;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), -1);
    fake_env = NULL;
    ck_assert_int_eq(mpt_ipx_rank_from_env(fake_getenv, &local, &world), -1);
}
END_TEST

/* ---- automatic step detection --------------------------------------------------------------------- */

enum { SYNC = -1 };

/* Feeds tokens (SYNC for a synchronisation) and records, per token, the step number a boundary
 * started there (-1 none). Returns the number of boundaries. */
static int feed(mpt_ipx_autostep *a, const int *tok, int n, int64_t *began)
{
    int b = 0;
    for (int i = 0; i < n; i++) {
        int64_t num = -1;
        int locked;
        uint64_t t = tok[i] == SYNC ? MPT_IPX_SYNC_TOKEN : (uint64_t)tok[i] * 0x9e3779b97f4a7c15ull;
        began[i] = mpt_ipx_autostep_feed(a, t, &num, &locked) ? num : -1;
        b += began[i] >= 0;
    }
    return b;
}

/* A transformer-like step: 2 distinct ops, L identical "layer" ops, 1 more, the loss read. */
static int make_steps(int *tok, int steps, int layers, int warmup)
{
    int n = 0;
    for (int w = 0; w < warmup; w++)
        tok[n++] = 1000 + w; /* initialisation work that never repeats */
    for (int s = 0; s < steps; s++) {
        tok[n++] = 1;
        tok[n++] = 2;
        for (int l = 0; l < layers; l++)
            tok[n++] = 3;
        tok[n++] = 4;
        tok[n++] = SYNC;
    }
    return n;
}

START_TEST(test_autostep_layers_and_warmup)
{
    static int tok[4096];
    static int64_t began[4096];
    for (int warm = 0; warm <= 5; warm += 5) {
        int per = 2 + 12 + 1 + 1, n = make_steps(tok, 8, 12, warm);
        mpt_ipx_autostep *a = mpt_ipx_autostep_new(1024);
        int b = feed(a, tok, n, began);
        ck_assert_uint_eq(mpt_ipx_autostep_period(a), (size_t)per);
        /* Locked after two repetitions; then every step begins at its first op (token 1). */
        ck_assert_int_eq(b, 6);
        int64_t expect = 2;
        for (int i = 0; i < n; i++)
            if (began[i] >= 0) {
                ck_assert_int_eq(tok[i], 1);
                ck_assert_int_eq(began[i], expect++);
                ck_assert_int_eq((i - warm) % per, 0);
            }
        mpt_ipx_autostep_free(a);
    }
}
END_TEST

START_TEST(test_autostep_resyncs_after_eval)
{
    static int tok[4096];
    static int64_t began[4096];
    int n = make_steps(tok, 4, 3, 0);
    /* an evaluation pass: other ops, then training resumes */
    for (int i = 0; i < 5; i++)
        tok[n++] = 77;
    tok[n++] = SYNC;
    n += make_steps(tok + n, 3, 3, 0);
    mpt_ipx_autostep *a = mpt_ipx_autostep_new(1024);
    int b = feed(a, tok, n, began);
    int starts = 0;
    for (int i = 0; i < n; i++)
        if (began[i] >= 0) {
            ck_assert_int_eq(tok[i], 1); /* every boundary at a step's first op */
            starts++;
        }
    ck_assert_int_eq(b, starts);
    ck_assert_int_eq(b, 2 + 3); /* steps 2, 3 before the eval; all three after it */
    mpt_ipx_autostep_free(a);
}
END_TEST

START_TEST(test_autostep_without_sync)
{
    static int tok[8192];
    static int64_t began[8192];
    /* No synchronisation ever: the 4-token step must still be found, but not before its period
     * held for a long run; a layer loop of 3 identical ops must not be taken for it. */
    int n = 0;
    for (int s = 0; s < 200; s++) {
        tok[n++] = 1;
        tok[n++] = 3;
        tok[n++] = 3;
        tok[n++] = 3;
        tok[n++] = 2;
    }
    mpt_ipx_autostep *a = mpt_ipx_autostep_new(1024);
    feed(a, tok, n, began);
    ck_assert_uint_eq(mpt_ipx_autostep_period(a), 5);
    mpt_ipx_autostep_free(a);
    /* a sequence that never repeats: no lock, no boundary */
    for (int i = 0; i < 600; i++)
        tok[i] = i;
    a = mpt_ipx_autostep_new(1024);
    ck_assert_int_eq(feed(a, tok, 600, began), 0);
    ck_assert_uint_eq(mpt_ipx_autostep_period(a), 0);
    mpt_ipx_autostep_free(a);
}
END_TEST

/* ---- names of code ---------------------------------------------------------------------------- */

static char path_seen[512];

__attribute__((noinline)) static int inner_helper(int x)
{
    mpt_ipx_callpath(2, path_seen, sizeof path_seen);
    return x + 1;
}

__attribute__((noinline)) static int outer_caller(int x)
{
    return inner_helper(x) * 2;
}

START_TEST(test_symbolize_static_functions)
{
    char out[256];
    ck_assert_uint_gt(mpt_ipx_symbolize((const void *)inner_helper, 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "inner_helper");
    ck_assert_uint_gt(mpt_ipx_symbolize((const char *)(const void *)outer_caller + 3, 1, out,
                                        sizeof out),
                      0);
    ck_assert_str_eq(out, "outer_caller+0x3");
    ck_assert_uint_eq(mpt_ipx_symbolize(NULL, 0, out, sizeof out), 0);
    volatile int r = outer_caller(1);
    ck_assert_int_eq(r, 4);
    ck_assert_str_eq(path_seen, "outer_caller/inner_helper");
}
END_TEST

/* `nm -D --defined-only --with-symbol-versions` of a file, as one string (malloc'd). */
static char *nm_of(const char *path)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only --with-symbol-versions '%s' 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *b = realloc(buf, cap *= 2);
            if (!b) break;
            buf = b;
        }
    }
    if (buf) buf[len] = '\0';
    pclose(f);
    return buf;
}

/* Every symbol libmptrace.so exports has the name and version NVIDIA's library gives it. */
START_TEST(test_exported_symbol_versions)
{
    if (!ipx_available()) return;
    const char *cuda = getenv("CUDA_HOME") ? getenv("CUDA_HOME") : "/usr/local/cuda";
    static const char *const libs[] = {"libcublas.so.13", "libcublasLt.so.13", "libcudart.so.13"};
    char *real[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/lib64/%s", cuda, libs[i]);
        if (access(path, R_OK) != 0 || !(real[i] = nm_of(path)) || !real[i][0]) {
            printf("SKIP: %s (or nm) not available: symbol versions not compared\n", path);
            for (int j = 0; j <= i; j++)
                free(real[j]);
            return;
        }
    }
    char *ours = nm_of(ipx_path("lib/libmptrace.so"));
    ck_assert_ptr_nonnull(ours);
    int checked = 0;
    for (char *line = strtok(ours, "\n"); line; line = strtok(NULL, "\n")) {
        char type, sym[256], want[300];
        if (sscanf(line, "%*s %c %255s", &type, sym) != 2 || type != 'T') continue;
        if (!strncmp(sym, "InitializeInjection", 19)) continue; /* NVTX and CUDA injection */
        char *at = strstr(sym, "@@");
        ck_assert_msg(at != NULL, "%s exported without a version", sym);
        const char *version = at + 2;
        int lib = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(version, libs[i])) lib = i;
        ck_assert_msg(lib >= 0, "%s: unexpected version", sym);
        snprintf(want, sizeof want, " T %s\n", sym);
        ck_assert_msg(strstr(real[lib], want) != NULL, "%s is not exported by NVIDIA's %s", sym,
                      libs[lib]);
        checked++;
    }
    ck_assert_int_ge(checked, 40);
    free(ours);
    for (int i = 0; i < 3; i++)
        free(real[i]);
}
END_TEST

Suite *suite_interposer_config(void);
Suite *suite_interposer_config(void)
{
    Suite *s = suite_create("interposer_config");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_config_defaults);
    tcase_add_loop_test(tc, test_config_table, 0, (int)(sizeof config_cases / sizeof *config_cases));
    tcase_add_test(tc, test_config_regexes);
    tcase_add_loop_test(tc, test_step_pattern, 0, (int)(sizeof step_names / sizeof *step_names));
    tcase_add_test(tc, test_mark_parse);
    tcase_add_loop_test(tc, test_trace_names, 0, (int)(sizeof names / sizeof *names));
    tcase_add_test(tc, test_rank_from_env);
    tcase_add_test(tc, test_autostep_layers_and_warmup);
    tcase_add_test(tc, test_autostep_resyncs_after_eval);
    tcase_add_test(tc, test_autostep_without_sync);
    tcase_add_test(tc, test_symbolize_static_functions);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("versions");
    tcase_set_timeout(tv, 60);
    tcase_add_test(tv, test_exported_symbol_versions);
    suite_add_tcase(s, tv);
    return s;
}

#else

Suite *suite_interposer_config(void);
Suite *suite_interposer_config(void)
{
    printf("SKIP: interposer_config: the interposer is not built (no CUDA headers)\n");
    return suite_create("interposer_config");
}

#endif
