/*
 * Names for code addresses, for programs that do not say where they are with NVTX.
 *
 * A GEMM's call site ("attention_scores+0x5c") is its return address resolved against the full
 * symbol table (.symtab, static functions included; .dynsym when the object is stripped) of the
 * object that holds it, read with libelf; C++ names are demangled with the C++ runtime's
 * __cxa_demangle when the process has one. Its call path ("main/attention_scores") is the same
 * for the first few frames of the program's own code, outermost first: frames inside
 * libmptrace, the CUDA libraries and the C library are skipped, since most programs wrap their
 * GEMMs in a helper and the helper's caller is what tells layers apart.
 *
 * Everything is cached: symbol tables per object (loaded once, sorted), names per address. The
 * caches are bounded; past the bound names are computed each time rather than remembered.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interposer/ipx.h"

typedef struct sym {
    uintptr_t start; /* runtime address */
    uintptr_t size;
    const char *name; /* into the object's string block */
} sym;

typedef struct object {
    uintptr_t lo, hi;  /* runtime range of its loaded segments */
    uintptr_t bias;    /* dlpi_addr */
    char path[512];
    int loaded;        /* symbols read (or tried) */
    int skip;          /* CUDA library, libc, libmptrace: not the program's own code */
    sym *syms;
    size_t nsyms;
    char *strings;
} object;

#define MAX_OBJECTS 512
#define ADDR_SLOTS 8192

typedef struct addr_slot {
    uintptr_t addr; /* 0 empty */
    int with_offset;
    char *name;     /* "" when unknown */
} addr_slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static object *objects;
static size_t nobjects;
static addr_slot *addrs;
static size_t naddrs;

static int skip_object(const char *path)
{
    static const char *const prefixes[] = {"libmptrace", "libcublas", "libcudart", "libcuda.",
                                           "libnvToolsExt", "libc.so", "libc-", "libpthread",
                                           "ld-linux", "libdl", "libstdc++", "libgcc_s",
                                           "libasan", "libubsan", NULL};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (const char *const *p = prefixes; *p; p++)
        if (!strncmp(base, *p, strlen(*p))) return 1;
    return 0;
}

/* dl_iterate_phdr callback: the object holding the address in *(uintptr_t *)arg[0]. */
typedef struct find_arg {
    uintptr_t addr;
    object found;
    int ok;
} find_arg;

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    find_arg *fa = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (fa->addr < lo || fa->addr >= hi) return 0;
    memset(&fa->found, 0, sizeof fa->found);
    fa->found.lo = lo;
    fa->found.hi = hi;
    fa->found.bias = info->dlpi_addr;
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", fa->found.path, sizeof fa->found.path - 1);
        fa->found.path[n > 0 ? n : 0] = '\0';
    } else {
        snprintf(fa->found.path, sizeof fa->found.path, "%s", name);
    }
    fa->found.skip = skip_object(fa->found.path);
    fa->ok = 1;
    return 1;
}

static int cmp_sym(const void *a, const void *b)
{
    const sym *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the function symbols of o's file. mu held. */
static void load_symbols(object *o)
{
    o->loaded = 1;
    if (elf_version(EV_CURRENT) == EV_NONE) return;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
    GElf_Shdr sh;
    while (e && (scn = elf_nextscn(e, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh)) continue;
        if (sh.sh_type == SHT_SYMTAB) symtab = scn;
        if (sh.sh_type == SHT_DYNSYM) dynsym = scn;
    }
    Elf_Scn *use = symtab ? symtab : dynsym;
    if (use && gelf_getshdr(use, &sh) && sh.sh_entsize) {
        Elf_Data *data = elf_getdata(use, NULL);
        size_t count = sh.sh_size / sh.sh_entsize, bytes = 0, n = 0;
        GElf_Sym s;
        for (size_t i = 0; data && i < count; i++)
            if (gelf_getsym(data, (int)i, &s) &&
                (GELF_ST_TYPE(s.st_info) == STT_FUNC || GELF_ST_TYPE(s.st_info) == STT_GNU_IFUNC) &&
                s.st_value) {
                const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
                if (nm && *nm) bytes += strlen(nm) + 1, n++;
            }
        o->syms = n ? malloc(n * sizeof *o->syms) : NULL;
        o->strings = bytes ? malloc(bytes) : NULL;
        if (o->syms && o->strings) {
            size_t at = 0;
            for (size_t i = 0; i < count && o->nsyms < n; i++) {
                if (!gelf_getsym(data, (int)i, &s)) continue;
                int type = GELF_ST_TYPE(s.st_info);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_value) continue;
                const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
                if (!nm || !*nm) continue;
                size_t len = strlen(nm) + 1;
                memcpy(o->strings + at, nm, len);
                o->syms[o->nsyms++] = (sym){o->bias + s.st_value, s.st_size, o->strings + at};
                at += len;
            }
            qsort(o->syms, o->nsyms, sizeof *o->syms, cmp_sym);
        }
    }
    if (e) elf_end(e);
    close(fd);
}

/* The object holding addr (registered on first sight). mu held. */
static object *object_of(uintptr_t addr)
{
    for (size_t i = 0; i < nobjects; i++)
        if (addr >= objects[i].lo && addr < objects[i].hi) return &objects[i];
    find_arg fa = {.addr = addr};
    dl_iterate_phdr(find_cb, &fa);
    if (!fa.ok) return NULL;
    if (!objects) objects = calloc(MAX_OBJECTS, sizeof *objects);
    if (!objects || nobjects == MAX_OBJECTS) return NULL;
    objects[nobjects] = fa.found;
    return &objects[nobjects++];
}

static const sym *sym_of(object *o, uintptr_t addr)
{
    if (!o->loaded) load_symbols(o);
    size_t lo = 0, hi = o->nsyms;
    while (lo < hi) { /* first symbol starting after addr */
        size_t mid = (lo + hi) / 2;
        if (o->syms[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NULL;
    const sym *s = &o->syms[lo - 1];
    if (s->size && addr >= s->start + s->size) return NULL;
    return s;
}

static void demangle(const char *name, char *out, size_t outlen)
{
    typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
    static demangle_fn fn;
    static int looked;
    if (!looked) {
        fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
        looked = 1;
    }
    if (fn && name[0] == '_' && name[1] == 'Z') {
        int status = -1;
        char *d = fn(name, NULL, NULL, &status);
        if (d && status == 0) {
            /* Drop the parameter list: "ns::f(int, float)" -> "ns::f". */
            char *paren = strchr(d, '(');
            if (paren && paren != d) *paren = '\0';
            snprintf(out, outlen, "%s", d);
            free(d);
            return;
        }
        free(d);
    }
    snprintf(out, outlen, "%s", name);
}

/* Resolves addr into out. mu held. */
static size_t resolve(uintptr_t addr, int with_offset, char *out, size_t outlen, int *skip)
{
    out[0] = '\0';
    object *o = object_of(addr);
    if (skip) *skip = o ? o->skip : 1;
    if (!o) return 0;
    const sym *s = sym_of(o, addr);
    char name[400];
    if (s) {
        demangle(s->name, name, sizeof name);
        /* GCC's clones (gemm.constprop.0, f.isra.0, f.part.1, f.cold) are the function. */
        if (name[0] != '.' && !strchr(name, ':')) name[strcspn(name, ".")] = '\0';
        if (with_offset)
            snprintf(out, outlen, "%s+0x%lx", name, (unsigned long)(addr - s->start));
        else
            snprintf(out, outlen, "%s", name);
    } else if (with_offset) {
        const char *base = strrchr(o->path, '/');
        snprintf(out, outlen, "%s+0x%lx", base ? base + 1 : o->path,
                 (unsigned long)(addr - o->bias));
    }
    return strlen(out);
}

static addr_slot *addr_lookup(uintptr_t addr, int with_offset)
{
    if (!addrs) addrs = calloc(ADDR_SLOTS, sizeof *addrs);
    if (!addrs) return NULL;
    size_t h = (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 40) + (size_t)with_offset;
    for (size_t n = 0; n < ADDR_SLOTS; n++) {
        addr_slot *s = &addrs[(h + n) & (ADDR_SLOTS - 1)];
        if (s->addr == addr && s->with_offset == with_offset) return s;
        if (s->addr == 0) {
            if (naddrs >= ADDR_SLOTS / 2) return NULL; /* full enough: stop remembering */
            return s;
        }
    }
    return NULL;
}

size_t mpt_ipx_symbolize(const void *addr, int with_offset, char *out, size_t outlen)
{
    if (!addr || outlen == 0) return 0;
    uintptr_t a = (uintptr_t)addr;
    pthread_mutex_lock(&mu);
    addr_slot *slot = addr_lookup(a, with_offset);
    if (slot && slot->addr == a) {
        snprintf(out, outlen, "%s", slot->name);
        pthread_mutex_unlock(&mu);
        return strlen(out);
    }
    size_t n = resolve(a, with_offset, out, outlen, NULL);
    if (slot) {
        slot->name = strdup(out);
        if (slot->name) {
            slot->addr = a;
            slot->with_offset = with_offset;
            naddrs++;
        }
    }
    pthread_mutex_unlock(&mu);
    return n;
}

size_t mpt_ipx_callpath(int depth, char *out, size_t outlen)
{
    void *frames[24];
    int n = backtrace(frames, depth + 12 < 24 ? depth + 12 : 24); /* ours, CUDA's, the caller's */
    char names[8][256];
    int got = 0;
    if (depth > 8) depth = 8;
    pthread_mutex_lock(&mu);
    /* Start after this function's own frame (a sanitizer's interceptor of backtrace() may come
     * first; in the unit tests this file is not inside libmptrace). */
    int first = 1;
    for (int i = 0; i < n && i < 4; i++) {
        object *o = object_of((uintptr_t)frames[i]);
        const sym *s = o ? sym_of(o, (uintptr_t)frames[i]) : NULL;
        if (s && s->start == (uintptr_t)(void *)mpt_ipx_callpath) {
            first = i + 1;
            break;
        }
    }
    for (int i = first; i < n && got < depth; i++) {
        /* A return address points after the call: look up the call instruction. */
        uintptr_t a = (uintptr_t)frames[i] - 1;
        int skip;
        addr_slot *slot = addr_lookup(a, 2); /* with_offset 2: the "skip" marker is cached */
        if (slot && slot->addr == a) {
            if (slot->name[0] == '\1') continue;
            size_t len = strlen(slot->name);
            if (len >= sizeof names[got]) len = sizeof names[got] - 1;
            memcpy(names[got], slot->name, len);
            names[got][len] = '\0';
        } else {
            resolve(a, 0, names[got], sizeof names[got], &skip);
            if (skip) names[got][0] = '\1', names[got][1] = '\0';
            if (slot && (slot->name = strdup(names[got])) != NULL) {
                slot->addr = a;
                slot->with_offset = 2;
                naddrs++;
            }
            if (skip) continue;
        }
        if (!names[got][0]) break; /* the program's own code, but stripped: stop here */
        got++;
        if (!strcmp(names[got - 1], "main")) break;
    }
    pthread_mutex_unlock(&mu);
    size_t len = 0;
    out[0] = '\0';
    for (int i = got - 1; i >= 0; i--) {
        size_t nlen = strlen(names[i]), need = nlen + (len ? 1 : 0);
        if (len + need + 1 > outlen) break;
        if (len) out[len++] = '/';
        memcpy(out + len, names[i], nlen + 1);
        len += nlen;
    }
    return len;
}

void mpt_ipx_symbols_reset(void)
{
    pthread_mutex_init(&mu, NULL);
}

/* backtrace() loads the unwinder on first use: do it outside any lock of ours, early. */
void mpt_ipx_symbols_warm(void);
void mpt_ipx_symbols_warm(void)
{
    void *f[2];
    backtrace(f, 2);
}
