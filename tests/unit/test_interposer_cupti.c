/*
 * CUPTI injection (interposer/cupti_injection.c, docs/interposer.md "CUPTI"): the export the CUDA
 * driver looks up, the decoding of each driver callback (table-driven, on parameter blocks laid
 * out by NVIDIA's generated_cuda_meta.h), InitializeInjection degrading to one line without
 * libcupti, the launcher's CUDA_INJECTION64_PATH rules, and the callback-to-record path end to
 * end against a stand-in libcupti (tests/programs/ipx_lib/fake_cupti.c) played by
 * tests/programs/ipx_fake_cupti. No GPU anywhere: the real driver and CUPTI never call us here.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/trace_reader.h"
#include "interposer/cupti.h"
#include "test_interposer_util.h"

#if defined(MPT_HAVE_CUPTI_HEADERS)
#define __CUDA_API_VERSION_INTERNAL 1 /* as in cupti_injection.c */
#include <cuda.h>
#include <cupti_driver_cbid.h>
#include <generated_cuda_meta.h>
#endif

static int count_prefix(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        if (!strncmp(p, prefix, strlen(prefix))) n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

/* "NAME=VALUE" for ipx_run (static storage, one per slot). */
static const char *env_of(int slot, const char *name, const char *value)
{
    static char buf[8][PATH_MAX + 64];
    snprintf(buf[slot], sizeof buf[slot], "%s=%s", name, value);
    return buf[slot];
}

/* ---- the export ------------------------------------------------------------------------------ */

/* InitializeInjection in .dynsym: a defined global function whose version is the default one
 * (not hidden), which is what the driver's plain dlsym() finds. */
START_TEST(test_export_binding)
{
    if (!ipx_available()) return;
    ck_assert(elf_version(EV_CURRENT) != EV_NONE);
    int fd = open(ipx_path("lib/libmptrace.so"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(e);
    Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL;
    GElf_Shdr sh, dsh;
    memset(&dsh, 0, sizeof dsh);
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        gelf_getshdr(scn, &sh);
        if (sh.sh_type == SHT_DYNSYM) dynsym = scn, dsh = sh;
        if (sh.sh_type == SHT_GNU_versym) versym = scn;
    }
    ck_assert_ptr_nonnull(dynsym);
    ck_assert_ptr_nonnull(versym);
    Elf_Data *syms = elf_getdata(dynsym, NULL), *vers = elf_getdata(versym, NULL);
    int found = 0;
    for (size_t i = 0; i < dsh.sh_size / dsh.sh_entsize; i++) {
        GElf_Sym s;
        gelf_getsym(syms, (int)i, &s);
        if (strcmp(elf_strptr(e, dsh.sh_link, s.st_name), "InitializeInjection") != 0) continue;
        GElf_Versym v;
        gelf_getversym(vers, (int)i, &v);
        ck_assert_int_eq(GELF_ST_BIND(s.st_info), STB_GLOBAL);
        ck_assert_int_eq(GELF_ST_TYPE(s.st_info), STT_FUNC);
        ck_assert_int_eq(GELF_ST_VISIBILITY(s.st_other), STV_DEFAULT);
        ck_assert_int_ne(s.st_shndx, SHN_UNDEF);
        ck_assert_msg((v & 0x8000) == 0, "InitializeInjection's version is hidden (@, not @@)");
        found++;
    }
    ck_assert_int_eq(found, 1);
    elf_end(e);
    close(fd);
}
END_TEST

/* ---- decoding (pure) ------------------------------------------------------------------------- */

#if defined(MPT_HAVE_CUPTI_HEADERS)
#define CB(n) CUPTI_DRIVER_TRACE_CBID_##n

static CUlaunchConfig launch_cfg = {5, 6, 7, 32, 2, 1, 4096, (CUstream)0x55, NULL, 0};
static CUDA_MEMCPY2D copy2d = {.srcMemoryType = CU_MEMORYTYPE_HOST,
                               .srcHost = (void *)0x1000,
                               .dstMemoryType = CU_MEMORYTYPE_DEVICE,
                               .dstDevice = 0x2000,
                               .WidthInBytes = 100,
                               .Height = 3};
static CUDA_MEMCPY3D copy3d = {.srcMemoryType = CU_MEMORYTYPE_ARRAY,
                               .srcDevice = 0x3000,
                               .dstMemoryType = CU_MEMORYTYPE_HOST,
                               .dstHost = (void *)0x4000,
                               .WidthInBytes = 10,
                               .Height = 4,
                               .Depth = 5};
static cuLaunchKernel_params p_launch = {.f = (CUfunction)0xf0,
                                         .gridDimX = 1,
                                         .gridDimY = 2,
                                         .gridDimZ = 3,
                                         .blockDimX = 4,
                                         .blockDimY = 5,
                                         .blockDimZ = 6,
                                         .sharedMemBytes = 7,
                                         .hStream = (CUstream)0x9};
static cuLaunchCooperativeKernel_params p_coop = {.f = (CUfunction)0xf1,
                                                  .gridDimX = 9,
                                                  .gridDimY = 1,
                                                  .gridDimZ = 1,
                                                  .blockDimX = 64,
                                                  .blockDimY = 1,
                                                  .blockDimZ = 1};
static cuLaunchKernelEx_params p_ex = {&launch_cfg, (CUfunction)0xf2, NULL, NULL};
static cuLaunchKernelEx_params p_ex_null = {NULL, (CUfunction)0xf3, NULL, NULL};
static cuMemcpyHtoD_v2_params p_htod = {0xd0, (const void *)0xa0, 4096};
static cuMemcpyHtoDAsync_v2_params p_htod_async = {0xd1, (const void *)0xa1, 16, (CUstream)0x7};
static cuMemcpyDtoH_v2_params p_dtoh = {(void *)0xa2, 0xd2, 8};
static cuMemcpyDtoHAsync_v2_params p_dtoh_async = {(void *)0xa3, 0xd3, 8, (CUstream)0x8};
static cuMemcpyDtoD_v2_params p_dtod = {0xd4, 0xd5, 32};
static cuMemcpy_params p_generic = {0xd6, 0xd7, 64};
static cuMemcpyPeerAsync_params p_peer = {0xd8, NULL, 0xd9, NULL, 128, (CUstream)0xa};
static cuMemcpy2D_v2_params p_2d = {&copy2d};
static cuMemcpy3DAsync_v2_params p_3d = {&copy3d, (CUstream)0xb};
static cuMemcpy2D_v2_params p_2d_null = {NULL};
static cuMemsetD8_v2_params p_set8 = {0xe0, 0xab, 10};
static cuMemsetD16_v2_params p_set16 = {0xe1, 0x3c00, 10};
static cuMemsetD2D32Async_params p_set2d32 = {0xe2, 256, 0x7fc00000u, 16, 3, (CUstream)0xc};
static cuStreamSynchronize_params p_ssync = {(CUstream)0xd};

typedef struct decode_case {
    const char *what;
    uint32_t cbid;
    const void *params;
    mpt_ipx_cupti_event want; /* only the fields of want.what are compared */
} decode_case;

#define K(f, g0, g1, g2, b0, b1, b2, sh, s)                                                        \
    {                                                                                              \
        .what = MPT_IPX_CUPTI_KERNEL, .func = (const void *)(f), .grid = {g0, g1, g2},             \
        .block = {b0, b1, b2}, .shared_bytes = sh, .stream = s                                     \
    }
#define M(k, as, s, d, sr, n, sp)                                                                  \
    {                                                                                              \
        .what = MPT_IPX_CUPTI_MEMORY, .mem = k, .async = as, .stream = s, .dst = d, .src = sr,     \
        .bytes = n, .sync_point = sp                                                               \
    }
#define S(s)                                                                                       \
    {                                                                                              \
        .what = MPT_IPX_CUPTI_SYNC, .stream = s, .sync_point = 1                                   \
    }

static const decode_case decode_cases[] = {
    {"cuLaunchKernel", CB(cuLaunchKernel), &p_launch, K(0xf0, 1, 2, 3, 4, 5, 6, 7, 0x9)},
    {"cuLaunchKernel_ptsz", CB(cuLaunchKernel_ptsz), &p_launch, K(0xf0, 1, 2, 3, 4, 5, 6, 7, 0x9)},
    {"cuLaunchCooperativeKernel", CB(cuLaunchCooperativeKernel), &p_coop,
     K(0xf1, 9, 1, 1, 64, 1, 1, 0, 0)},
    {"cuLaunchKernelEx", CB(cuLaunchKernelEx), &p_ex, K(0xf2, 5, 6, 7, 32, 2, 1, 4096, 0x55)},
    {"cuLaunchKernelEx no config", CB(cuLaunchKernelEx), &p_ex_null,
     K(0xf3, 0, 0, 0, 0, 0, 0, 0, 0)},
    {"cuMemcpyHtoD_v2", CB(cuMemcpyHtoD_v2), &p_htod, M(MPT_MEM_H2D, 0, 0, 0xd0, 0xa0, 4096, 0)},
    {"cuMemcpyHtoDAsync_v2_ptsz", CB(cuMemcpyHtoDAsync_v2_ptsz), &p_htod_async,
     M(MPT_MEM_H2D, 1, 0x7, 0xd1, 0xa1, 16, 0)},
    {"cuMemcpyDtoH_v2 (a sync point)", CB(cuMemcpyDtoH_v2), &p_dtoh,
     M(MPT_MEM_D2H, 0, 0, 0xa2, 0xd2, 8, 1)},
    {"cuMemcpyDtoHAsync_v2", CB(cuMemcpyDtoHAsync_v2), &p_dtoh_async,
     M(MPT_MEM_D2H, 1, 0x8, 0xa3, 0xd3, 8, 0)},
    {"cuMemcpyDtoD_v2_ptds", CB(cuMemcpyDtoD_v2_ptds), &p_dtod,
     M(MPT_MEM_D2D, 0, 0, 0xd4, 0xd5, 32, 0)},
    {"cuMemcpy", CB(cuMemcpy), &p_generic, M(MPT_MEM_DEFAULT, 0, 0, 0xd6, 0xd7, 64, 0)},
    {"cuMemcpyPeerAsync", CB(cuMemcpyPeerAsync), &p_peer,
     M(MPT_MEM_D2D, 1, 0xa, 0xd8, 0xd9, 128, 0)},
    {"cuMemcpy2D_v2", CB(cuMemcpy2D_v2), &p_2d, M(MPT_MEM_H2D, 0, 0, 0x2000, 0x1000, 300, 0)},
    {"cuMemcpy3DAsync_v2", CB(cuMemcpy3DAsync_v2), &p_3d,
     M(MPT_MEM_D2H, 1, 0xb, 0x4000, 0x3000, 200, 0)},
    {"cuMemsetD8_v2", CB(cuMemsetD8_v2), &p_set8, M(MPT_MEM_MEMSET, 0, 0, 0xe0, 0xab, 10, 0)},
    {"cuMemsetD16_v2_ptds", CB(cuMemsetD16_v2_ptds), &p_set16,
     M(MPT_MEM_MEMSET, 0, 0, 0xe1, 0x3c00, 20, 0)},
    {"cuMemsetD2D32Async", CB(cuMemsetD2D32Async), &p_set2d32,
     M(MPT_MEM_MEMSET, 1, 0xc, 0xe2, 0x7fc00000u, 192, 0)},
    {"cuStreamSynchronize", CB(cuStreamSynchronize), &p_ssync, S(0xd)},
    {"cuCtxSynchronize (no parameters)", CB(cuCtxSynchronize), NULL, S(0)},
    {"cuCtxSynchronize_v2", CB(cuCtxSynchronize_v2), &p_ssync, S(0)},
    {"cuMemAlloc_v2 (not recorded)", CB(cuMemAlloc_v2), &p_htod, {.what = MPT_IPX_CUPTI_NONE}},
    {"cuLaunchKernel without parameters", CB(cuLaunchKernel), NULL, {.what = MPT_IPX_CUPTI_NONE}},
    {"cuMemcpy2D_v2 without descriptor",
     CB(cuMemcpy2D_v2),
     &p_2d_null,
     {.what = MPT_IPX_CUPTI_NONE}},
};

START_TEST(test_decode)
{
    const decode_case *c = &decode_cases[_i];
    const mpt_ipx_cupti_event *w = &c->want;
    mpt_ipx_cupti_event ev;
    memset(&ev, 0x5a, sizeof ev);
    ck_assert_msg(mpt_ipx_cupti_decode(c->cbid, c->params, &ev) == w->what, "%s: what", c->what);
    ck_assert_msg(ev.what == w->what, "%s", c->what);
    ck_assert_msg(ev.sync_point == w->sync_point, "%s: sync point %d", c->what, ev.sync_point);
    if (w->what != MPT_IPX_CUPTI_NONE)
        ck_assert_msg(ev.stream == w->stream, "%s: stream %#llx", c->what,
                      (unsigned long long)ev.stream);
    if (w->what == MPT_IPX_CUPTI_KERNEL) {
        ck_assert_msg(ev.func == w->func, "%s: func", c->what);
        for (int d = 0; d < 3; d++)
            ck_assert_msg(ev.grid[d] == w->grid[d] && ev.block[d] == w->block[d],
                          "%s: dimension %d: grid %u block %u", c->what, d, ev.grid[d],
                          ev.block[d]);
        ck_assert_msg(ev.shared_bytes == w->shared_bytes, "%s: shared", c->what);
    }
    if (w->what == MPT_IPX_CUPTI_MEMORY) {
        ck_assert_msg(ev.mem == w->mem, "%s: kind %d", c->what, (int)ev.mem);
        ck_assert_msg(ev.async == w->async, "%s: async", c->what);
        ck_assert_msg(ev.dst == w->dst && ev.src == w->src, "%s: dst %#llx src %#llx", c->what,
                      (unsigned long long)ev.dst, (unsigned long long)ev.src);
        ck_assert_msg(ev.bytes == w->bytes, "%s: bytes %llu", c->what,
                      (unsigned long long)ev.bytes);
    }
}
END_TEST

/* Every callback id the injection enables is one it decodes (so none is enabled for nothing),
 * on a parameter block whose every slot points at zeros (descriptors, configs). */
START_TEST(test_enabled_ids_decode)
{
    static uint64_t zeros[64];
    uint64_t block[16];
    for (int i = 0; i < 16; i++)
        block[i] = (uint64_t)(uintptr_t)zeros;
    int n;
    const uint32_t *ids = mpt_ipx_cupti_cbids(&n);
    ck_assert_int_ge(n, 40);
    for (int i = 0; i < n; i++) {
        mpt_ipx_cupti_event ev;
        ck_assert_msg(mpt_ipx_cupti_decode(ids[i], block, &ev) != MPT_IPX_CUPTI_NONE,
                      "callback id %u is enabled but not decoded", ids[i]);
        for (int j = 0; j < i; j++)
            ck_assert_msg(ids[j] != ids[i], "callback id %u enabled twice", ids[i]);
    }
}
END_TEST
#endif

/* ---- InitializeInjection as the driver calls it, without CUPTI ------------------------------- */

/* ipx_fake_cupti dlopen()s CUDA_INJECTION64_PATH and calls InitializeInjection, as the driver
 * does; nothing preloaded. */
static int play_driver(const char *cupti_lib, const char *extra, char **out, char **err)
{
    char *argv[] = {(char *)ipx_path("tests/programs/ipx_fake_cupti"), "calls", NULL};
    char trace[PATH_MAX];
    snprintf(trace, sizeof trace, "%s/driver.mpt", ipx_tmpdir());
    const char *env[] = {env_of(0, "CUDA_INJECTION64_PATH", ipx_path("lib/libmptrace.so")),
                         env_of(1, "LD_LIBRARY_PATH", ipx_path("sim")),
                         cupti_lib ? env_of(2, "MPTRACE_CUPTI_LIB", cupti_lib)
                                   : "MPTRACE_CUPTI_LIB",
                         env_of(3, "MPTRACE_OUTPUT", trace),
                         "MPTRACE_CUPTI",
                         "MPTRACE_QUIET",
                         extra,
                         NULL};
    return ipx_run(argv, env, out, err);
}

START_TEST(test_no_cupti_one_line)
{
    if (!ipx_available()) return;
    char *out, *err;
    /* (MPTRACE_CUPTI=1: the stand-in driver program uses the dynamic runtime, for which the
     * injection otherwise leaves CUPTI alone; test_cupti_callbacks_recorded checks that.) */
    ck_assert_int_eq(play_driver("/nonexistent/libcupti.so.13", "MPTRACE_CUPTI=1", &out, &err), 0);
    ck_assert_msg(strstr(out, "InitializeInjection returned 1") && strstr(out, "OK"), "%s", out);
    ck_assert_msg(count_prefix(err, "mptrace:") == 1, "want one line, got:\n%s", err);
    ck_assert_msg(strstr(err, "CUPTI capture off") != NULL, "%s", err);
    free(out), free(err);
    /* Switched off: not even the line. */
    ck_assert_int_eq(play_driver("/nonexistent/libcupti.so.13", "MPTRACE_CUPTI=0", &out, &err), 0);
    ck_assert_msg(count_prefix(err, "mptrace:") == 0, "%s", err);
    free(out), free(err);
    /* Whatever libcupti the loader finds by itself (a real one without a driver fails to
     * subscribe): still returns, at most one line. */
    ck_assert_int_eq(play_driver(NULL, "MPTRACE_CUPTI=1", &out, &err), 0);
    ck_assert_msg(strstr(out, "InitializeInjection returned 1"), "%s", out);
    ck_assert_msg(count_prefix(err, "mptrace:") <= 1, "%s", err);
    free(out), free(err);
}
END_TEST

/* ---- the launcher ---------------------------------------------------------------------------- */

typedef struct launcher_case {
    const char *what;
    const char *opts[3];
    const char *env[3];    /* beyond the unset CUDA_INJECTION64_PATH and MPTRACE_CUPTI */
    const char *injection; /* expected value; "LIB": the library */
    int lines;             /* expected "mptrace: CUDA_INJECTION64_PATH is already set" lines */
} launcher_case;

static const launcher_case launcher_cases[] = {
    {"GPU run", {NULL}, {NULL}, "LIB", 0},
    {"--sim", {"--sim", NULL}, {NULL}, "(unset)", 0},
    {"--no-cupti", {"--no-cupti", NULL}, {NULL}, "(unset)", 0},
    {"MPTRACE_CUPTI=0", {NULL}, {"MPTRACE_CUPTI=0", NULL}, "(unset)", 0},
    {"another tool's injection",
     {NULL},
     {"CUDA_INJECTION64_PATH=/opt/tool/libinj.so", NULL},
     "/opt/tool/libinj.so",
     1},
    {"another tool's, quiet",
     {"-q", NULL},
     {"CUDA_INJECTION64_PATH=/opt/tool/libinj.so", NULL},
     "/opt/tool/libinj.so",
     0},
    {"another tool's, --sim",
     {"--sim", NULL},
     {"CUDA_INJECTION64_PATH=/opt/tool/libinj.so", NULL},
     "/opt/tool/libinj.so",
     0},
};

START_TEST(test_launcher_injection)
{
    if (!ipx_available()) return;
    const launcher_case *c = &launcher_cases[_i];
    char *argv[12], trace[PATH_MAX], lib[PATH_MAX], want[PATH_MAX + 64];
    int n = 0;
    snprintf(trace, sizeof trace, "%s/env%d.mpt", ipx_tmpdir(), _i);
    argv[n++] = (char *)ipx_path("bin/mptrace");
    for (int i = 0; c->opts[i]; i++)
        argv[n++] = (char *)c->opts[i];
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = (char *)ipx_path("tests/programs/ipx_fake_cupti");
    argv[n++] = "env";
    argv[n] = NULL;
    const char *env[8] = {"CUDA_INJECTION64_PATH", "MPTRACE_CUPTI",
                          env_of(0, "LD_LIBRARY_PATH", ipx_path("sim"))};
    for (int i = 0; c->env[i]; i++)
        env[3 + i] = c->env[i];
    char *out, *err;
    ck_assert_int_eq(ipx_run(argv, env, &out, &err), 0);
    ck_assert_ptr_nonnull(realpath(ipx_path("lib/libmptrace.so"), lib));
    snprintf(want, sizeof want, "CUDA_INJECTION64_PATH=%s\n",
             strcmp(c->injection, "LIB") ? c->injection : lib);
    ck_assert_msg(strstr(out, want) != NULL, "%s: want %s got\n%s", c->what, want, out);
    ck_assert_msg(count_prefix(err, "mptrace: CUDA_INJECTION64_PATH is already set") == c->lines,
                  "%s: stderr\n%s", c->what, err);
    free(out), free(err);
}
END_TEST

START_TEST(test_help_documents_cupti)
{
    if (!ipx_available()) return;
    char *argv[] = {(char *)ipx_path("bin/mptrace"), "run", "--help", NULL}, *out;
    ck_assert_int_eq(ipx_run(argv, NULL, &out, NULL), 0);
    static const char *const words[] = {"--no-cupti", "CUDA_INJECTION64_PATH", "MPTRACE_CUPTI",
                                        "MPTRACE_CUPTI_LIB", NULL};
    for (const char *const *w = words; *w; w++)
        ck_assert_msg(strstr(out, *w) != NULL, "'mptrace run --help' does not mention %s", *w);
    free(out);
}
END_TEST

/* ---- callbacks to records, through the launcher, against the stand-in libcupti --------------- */

typedef struct named_kernel {
    mpt_trace_kernel k;
    char name[128];
} named_kernel;

/* The KERNEL records of a trace with their names; returns how many (up to max), -1 unreadable. */
static int read_kernels(const char *path, named_kernel *out, int max)
{
    char errbuf[256];
    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, errbuf, sizeof errbuf);
    if (!r) return -1;
    mpt_trace_record rec;
    int n = 0;
    while (mpt_trace_reader_next(r, &rec) == MPT_TRACE_RECORD)
        if (rec.type == MPT_REC_KERNEL && n < max) {
            out[n].k = rec.u.kernel;
            const char *s = mpt_trace_reader_string(r, rec.u.kernel.name);
            snprintf(out[n].name, sizeof out[n].name, "%s", s ? s : "");
            n++;
        }
    mpt_trace_reader_close(r);
    return n;
}

START_TEST(test_fake_cupti_records)
{
    if (!ipx_available()) return;
    char trace[PATH_MAX], *out, *err;
    snprintf(trace, sizeof trace, "%s/cupti.mpt", ipx_tmpdir());
    char *argv[] = {(char *)ipx_path("bin/mptrace"),
                    "-o",
                    trace,
                    (char *)ipx_path("tests/programs/ipx_fake_cupti"),
                    "calls",
                    NULL};
    int n;
    if (mpt_ipx_cupti_cbids(&n) == NULL) {
        /* Built without CUPTI's headers: the injection only says so. */
        const char *env[] = {"CUDA_INJECTION64_PATH", env_of(0, "LD_LIBRARY_PATH", ipx_path("sim")),
                             NULL};
        ck_assert_int_eq(ipx_run(argv, env, &out, &err), 0);
        ck_assert_msg(strstr(err, "built without the CUPTI headers"), "%s", err);
        printf(
            "SKIP: CUPTI callbacks: this build has no CUPTI headers (only the notice checked)\n");
        free(out), free(err);
        return;
    }
    const char *fake = ipx_path("tests/programs/ipx_lib/libfakecupti.so");
    /* The program uses the dynamic runtime: by default the injection leaves CUPTI alone (the
     * runtime hooks see its calls, and a profiler the program starts may want CUPTI). */
    const char *autoenv[] = {"CUDA_INJECTION64_PATH", "MPTRACE_CUPTI",
                             env_of(0, "LD_LIBRARY_PATH", ipx_path("sim")),
                             env_of(1, "MPTRACE_CUPTI_LIB", fake), NULL};
    ck_assert_int_eq(ipx_run(argv, autoenv, &out, &err), 0);
    ck_assert_msg(strstr(out, "libcupti not loaded by the injection") != NULL, "%s\n%s", out, err);
    ck_assert_msg(strstr(err, "CUPTI capture off") == NULL, "%s", err);
    free(out), free(err);
    /* MPTRACE_CUPTI=1: subscribe anyway (what a static-runtime program gets by default). */
    const char *env[] = {"CUDA_INJECTION64_PATH", "MPTRACE_CUPTI=1",
                         env_of(0, "LD_LIBRARY_PATH", ipx_path("sim")),
                         env_of(1, "MPTRACE_CUPTI_LIB", fake), NULL};
    ck_assert_int_eq(ipx_run(argv, env, &out, &err), 0);
    ck_assert_msg(strstr(out, "fired 7\nOK\n") != NULL, "%s\n%s", out, err);
    ck_assert_msg(strstr(err, "CUPTI capture off") == NULL, "%s", err);
    free(out), free(err);

    named_kernel k[8];
    ck_assert_int_eq(read_kernels(trace, k, 8), 3); /* not the failed one, not the nested one */
    ck_assert_str_eq(k[0].name, "_Z9fake_axpyPfPKfi");
    ck_assert_uint_eq(k[0].k.grid[0], 8);
    ck_assert_uint_eq(k[0].k.block[0], 256);
    ck_assert_uint_eq(k[0].k.stream, 0x77);
    ck_assert_msg(strstr(k[1].name, "0x1200") != NULL, "%s", k[1].name); /* no symbol name */
    ck_assert_uint_eq(k[1].k.grid[1], 2);
    ck_assert_uint_eq(k[1].k.shared_bytes, 1024);
    ck_assert_uint_eq(k[1].k.stream, 0x78);
    ck_assert_str_eq(k[2].name, "nested_kernel"); /* by the runtime hook, once */

    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert_uint_eq(t.nmemory, 3);
    ck_assert_int_eq(t.memory[0].kind, MPT_MEM_H2D);
    ck_assert_uint_eq(t.memory[0].dst, 0xd000);
    ck_assert_uint_eq(t.memory[0].bytes, 4096);
    ck_assert_int_eq(t.memory[1].kind, MPT_MEM_MEMSET);
    ck_assert_uint_eq(t.memory[1].flags & MPT_MEM_ASYNC, MPT_MEM_ASYNC);
    ck_assert_uint_eq(t.memory[1].src, 0x7fc00000u);
    ck_assert_uint_eq(t.memory[1].bytes, 1024);
    ck_assert_uint_eq(t.memory[1].stream, 0x77);
    ck_assert_int_eq(t.memory[2].kind, MPT_MEM_D2H);
    ck_assert_uint_eq(t.memory[2].bytes, 64);
    ipx_trace_free(&t);

    /* Under Nsight (another subscriber): one line, and the runtime launch still recorded. */
    const char *busy[] = {"CUDA_INJECTION64_PATH",
                          "MPTRACE_CUPTI=1",
                          env_of(0, "LD_LIBRARY_PATH", ipx_path("sim")),
                          env_of(1, "MPTRACE_CUPTI_LIB", fake),
                          "FAKE_CUPTI_BUSY=1",
                          NULL};
    ck_assert_int_eq(ipx_run(argv, busy, &out, &err), 0);
    ck_assert_msg(strstr(out, "libcupti not loaded") == NULL && strstr(out, "fired 0"), "%s", out);
    ck_assert_msg(count_prefix(err, "mptrace: CUPTI capture off") == 1, "%s", err);
    ck_assert_msg(strstr(err, "another CUPTI client") != NULL, "%s", err);
    free(out), free(err);
    ck_assert_int_eq(read_kernels(trace, k, 8), 1);
    ck_assert_str_eq(k[0].name, "nested_kernel");
}
END_TEST

static void setup(void)
{
    ipx_tmpdir();
}

static void teardown(void)
{
    ipx_cleanup();
}

Suite *suite_interposer_cupti(void);
Suite *suite_interposer_cupti(void)
{
    Suite *s = suite_create("interposer_cupti");
    TCase *tc = tcase_create("cupti");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_export_binding);
#if defined(MPT_HAVE_CUPTI_HEADERS)
    tcase_add_loop_test(tc, test_decode, 0, (int)(sizeof decode_cases / sizeof *decode_cases));
    tcase_add_test(tc, test_enabled_ids_decode);
#endif
    tcase_add_test(tc, test_no_cupti_one_line);
    tcase_add_loop_test(tc, test_launcher_injection, 0,
                        (int)(sizeof launcher_cases / sizeof *launcher_cases));
    tcase_add_test(tc, test_help_documents_cupti);
    tcase_add_test(tc, test_fake_cupti_records);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_cupti(void);
Suite *suite_interposer_cupti(void)
{
    printf("SKIP: interposer_cupti: the interposer is not built (no CUDA headers)\n");
    return suite_create("interposer_cupti");
}

#endif
