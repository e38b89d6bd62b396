/*
 * NVTX through its own injection mechanism: NVTX (header-only, compiled into the program, into
 * PyTorch, into every library that uses it) reads NVTX_INJECTION64_PATH on its first call,
 * dlopen()s that library — ours, already loaded by LD_PRELOAD, so the same instance — and calls
 * InitializeInjectionNvtx2 with a function that hands out its tables of function pointers. We
 * fill the core and core-2 (domain) tables; slots left empty stay no-ops. Each copy of NVTX in
 * the process initialises separately, so this may be called several times: every call fills
 * its caller's tables.
 *
 * Handled: push/pop (ASCII, wide, Ex with ASCII/Unicode/registered messages), start/end, marks,
 * domains (created and named), registered strings. Categories, thread names, resources and sync
 * objects are accepted and ignored.
 */
#define NVTX_NO_IMPL
#include <nvtx3/nvToolsExt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "interposer/ipx.h"

/* What nvtxDomainCreate returns: ours, opaque to the program. */
typedef struct ipx_domain {
    uint32_t id;
} ipx_domain;

static uint32_t domain_id(nvtxDomainHandle_t d)
{
    return d ? ((const ipx_domain *)(const void *)d)->id : 0;
}

/* wchar_t (UTF-32 on Linux) into UTF-8. */
static const char *utf8_of(const wchar_t *w, char *buf, size_t len)
{
    size_t n = 0;
    for (; w && *w && n + 5 < len; w++) {
        uint32_t c = (uint32_t)*w;
        if (c < 0x80) {
            buf[n++] = (char)c;
        } else if (c < 0x800) {
            buf[n++] = (char)(0xc0 | (c >> 6));
            buf[n++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            buf[n++] = (char)(0xe0 | (c >> 12));
            buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            buf[n++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x110000) {
            buf[n++] = (char)(0xf0 | (c >> 18));
            buf[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
            buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            buf[n++] = (char)(0x80 | (c & 0x3f));
        } else {
            buf[n++] = '?';
        }
    }
    buf[n] = '\0';
    return w ? buf : NULL;
}

static const char *message_of(const nvtxEventAttributes_t *a, char *buf, size_t len)
{
    if (!a) return NULL;
    switch (a->messageType) {
    case NVTX_MESSAGE_TYPE_ASCII: return a->message.ascii;
    case NVTX_MESSAGE_TYPE_UNICODE: return utf8_of(a->message.unicode, buf, len);
    case NVTX_MESSAGE_TYPE_REGISTERED: return (const char *)(const void *)a->message.registered;
    default: return NULL;
    }
}

static atomic_uint_fast64_t next_range_id = 1;

/* ---- core ---------------------------------------------------------------------------------------- */

static void mark_a(const char *m) { mpt_ipx_nvtx_mark(m, 0); }
static void mark_w(const wchar_t *m)
{
    char buf[1024];
    mpt_ipx_nvtx_mark(utf8_of(m, buf, sizeof buf), 0);
}
static void mark_ex(const nvtxEventAttributes_t *a)
{
    char buf[1024];
    mpt_ipx_nvtx_mark(message_of(a, buf, sizeof buf), 0);
}

static nvtxRangeId_t start_named(const char *name, uint32_t dom)
{
    nvtxRangeId_t id = atomic_fetch_add(&next_range_id, 1);
    mpt_ipx_nvtx_start(name, id, dom);
    return id;
}
static nvtxRangeId_t start_a(const char *m) { return start_named(m, 0); }
static nvtxRangeId_t start_w(const wchar_t *m)
{
    char buf[1024];
    return start_named(utf8_of(m, buf, sizeof buf), 0);
}
static nvtxRangeId_t start_ex(const nvtxEventAttributes_t *a)
{
    char buf[1024];
    return start_named(message_of(a, buf, sizeof buf), 0);
}
static void range_end(nvtxRangeId_t id) { mpt_ipx_nvtx_end(id, 0); }

static int depth_after_push(void)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    return t ? t->depth - 1 : 0;
}
static int push_a(const char *m)
{
    mpt_ipx_nvtx_push(m, 0);
    return depth_after_push();
}
static int push_w(const wchar_t *m)
{
    char buf[1024];
    mpt_ipx_nvtx_push(utf8_of(m, buf, sizeof buf), 0);
    return depth_after_push();
}
static int push_ex(const nvtxEventAttributes_t *a)
{
    char buf[1024];
    mpt_ipx_nvtx_push(message_of(a, buf, sizeof buf), 0);
    return depth_after_push();
}
static int pop(void)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    int level = t && t->depth > 0 ? t->depth - 1 : -1;
    mpt_ipx_nvtx_pop(0);
    return level;
}
static void name_category_a(uint32_t c, const char *n) { (void)c, (void)n; }
static void name_category_w(uint32_t c, const wchar_t *n) { (void)c, (void)n; }
static void name_thread_a(uint32_t t, const char *n) { (void)t, (void)n; }
static void name_thread_w(uint32_t t, const wchar_t *n) { (void)t, (void)n; }

/* ---- core 2: domains ----------------------------------------------------------------------------- */

static void d_mark_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
    char buf[1024];
    mpt_ipx_nvtx_mark(message_of(a, buf, sizeof buf), domain_id(d));
}
static nvtxRangeId_t d_start_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
    char buf[1024];
    return start_named(message_of(a, buf, sizeof buf), domain_id(d));
}
static void d_end(nvtxDomainHandle_t d, nvtxRangeId_t id) { mpt_ipx_nvtx_end(id, domain_id(d)); }
static int d_push_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
    char buf[1024];
    mpt_ipx_nvtx_push(message_of(a, buf, sizeof buf), domain_id(d));
    return domain_id(d) ? 0 : depth_after_push();
}
static int d_pop(nvtxDomainHandle_t d)
{
    if (!domain_id(d)) return pop();
    mpt_ipx_nvtx_pop(domain_id(d));
    return 0;
}
static nvtxResourceHandle_t d_resource_create(nvtxDomainHandle_t d, nvtxResourceAttributes_t *a)
{
    (void)d, (void)a;
    return NULL;
}
static void d_resource_destroy(nvtxResourceHandle_t r) { (void)r; }
static void d_name_category_a(nvtxDomainHandle_t d, uint32_t c, const char *n)
{
    (void)d, (void)c, (void)n;
}
static void d_name_category_w(nvtxDomainHandle_t d, uint32_t c, const wchar_t *n)
{
    (void)d, (void)c, (void)n;
}
/* A registered string's handle is a copy of the string, kept for the life of the process. */
static nvtxStringHandle_t d_register_a(nvtxDomainHandle_t d, const char *s)
{
    (void)d;
    return (nvtxStringHandle_t)(void *)strdup(s ? s : "");
}
static nvtxStringHandle_t d_register_w(nvtxDomainHandle_t d, const wchar_t *s)
{
    char buf[1024];
    return d_register_a(d, utf8_of(s, buf, sizeof buf));
}
static nvtxDomainHandle_t d_create_a(const char *name)
{
    ipx_domain *dom = malloc(sizeof *dom);
    if (!dom) return NULL;
    dom->id = mpt_ipx_nvtx_domain_register(name);
    return (nvtxDomainHandle_t)(void *)dom;
}
static nvtxDomainHandle_t d_create_w(const wchar_t *name)
{
    char buf[1024];
    return d_create_a(utf8_of(name, buf, sizeof buf));
}
/* Handles may still be used by other threads' late calls: kept, not freed. */
static void d_destroy(nvtxDomainHandle_t d) { (void)d; }
static void initialize(const void *reserved) { (void)reserved; }

/* ---- the entry point ----------------------------------------------------------------------------- */

typedef struct slot {
    unsigned id;
    NvtxFunctionPointer fn;
} slot;

#define FP(f) ((NvtxFunctionPointer)(void (*)(void))(f))

static int fill(const NvtxExportTableCallbacks *cb, NvtxCallbackModule module, const slot *slots,
                size_t n)
{
    NvtxFunctionTable table = NULL;
    unsigned int size = 0;
    if (!cb->GetModuleFunctionTable(module, &table, &size) || !table) return 0;
    for (size_t i = 0; i < n; i++)
        if (slots[i].id < size && table[slots[i].id]) *table[slots[i].id] = slots[i].fn;
    return 1;
}

MPT_IPX_EXPORT int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get);
MPT_IPX_EXPORT int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get)
{
    if (!get || mpt_ipx_config_get()->disabled) return 0;
    const NvtxExportTableCallbacks *cb = (const NvtxExportTableCallbacks *)get(NVTX_ETID_CALLBACKS);
    if (!cb || cb->struct_size < sizeof *cb || !cb->GetModuleFunctionTable) return 0;
    const slot core[] = {
        {NVTX_CBID_CORE_MarkEx, FP(mark_ex)},
        {NVTX_CBID_CORE_MarkA, FP(mark_a)},
        {NVTX_CBID_CORE_MarkW, FP(mark_w)},
        {NVTX_CBID_CORE_RangeStartEx, FP(start_ex)},
        {NVTX_CBID_CORE_RangeStartA, FP(start_a)},
        {NVTX_CBID_CORE_RangeStartW, FP(start_w)},
        {NVTX_CBID_CORE_RangeEnd, FP(range_end)},
        {NVTX_CBID_CORE_RangePushEx, FP(push_ex)},
        {NVTX_CBID_CORE_RangePushA, FP(push_a)},
        {NVTX_CBID_CORE_RangePushW, FP(push_w)},
        {NVTX_CBID_CORE_RangePop, FP(pop)},
        {NVTX_CBID_CORE_NameCategoryA, FP(name_category_a)},
        {NVTX_CBID_CORE_NameCategoryW, FP(name_category_w)},
        {NVTX_CBID_CORE_NameOsThreadA, FP(name_thread_a)},
        {NVTX_CBID_CORE_NameOsThreadW, FP(name_thread_w)},
    };
    const slot core2[] = {
        {NVTX_CBID_CORE2_DomainMarkEx, FP(d_mark_ex)},
        {NVTX_CBID_CORE2_DomainRangeStartEx, FP(d_start_ex)},
        {NVTX_CBID_CORE2_DomainRangeEnd, FP(d_end)},
        {NVTX_CBID_CORE2_DomainRangePushEx, FP(d_push_ex)},
        {NVTX_CBID_CORE2_DomainRangePop, FP(d_pop)},
        {NVTX_CBID_CORE2_DomainResourceCreate, FP(d_resource_create)},
        {NVTX_CBID_CORE2_DomainResourceDestroy, FP(d_resource_destroy)},
        {NVTX_CBID_CORE2_DomainNameCategoryA, FP(d_name_category_a)},
        {NVTX_CBID_CORE2_DomainNameCategoryW, FP(d_name_category_w)},
        {NVTX_CBID_CORE2_DomainRegisterStringA, FP(d_register_a)},
        {NVTX_CBID_CORE2_DomainRegisterStringW, FP(d_register_w)},
        {NVTX_CBID_CORE2_DomainCreateA, FP(d_create_a)},
        {NVTX_CBID_CORE2_DomainCreateW, FP(d_create_w)},
        {NVTX_CBID_CORE2_DomainDestroy, FP(d_destroy)},
        {NVTX_CBID_CORE2_Initialize, FP(initialize)},
    };
    if (!fill(cb, NVTX_CB_MODULE_CORE, core, sizeof core / sizeof *core)) return 0;
    fill(cb, NVTX_CB_MODULE_CORE2, core2, sizeof core2 / sizeof *core2);
    return 1;
}
