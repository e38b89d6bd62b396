/*
 * Finding the real CUDA functions behind the ones libmptrace.so defines.
 *
 * First dlvsym(RTLD_NEXT, name, version): the next definition after ours in the global scope,
 * with the exact symbol version the program asked for (libcublas.so.13, ...). When the CUDA
 * library is not in the global scope (it came in as a dependency of something dlopen()ed with
 * RTLD_LOCAL, as Python extensions are), the program's references still bind to our
 * definitions (LD_PRELOAD comes first in every lookup), and the library is found by its soname
 * among the loaded objects instead. Never loads a library itself.
 */
#include <dlfcn.h>
#include <stddef.h>

#include "interposer/ipx.h"

void *mpt_ipx_real_resolve(const char *name, const char *version, const char *soname)
{
    void *p = dlvsym(RTLD_NEXT, name, version);
    if (!p) p = dlsym(RTLD_NEXT, name);
    if (!p && soname) {
        void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            p = dlvsym(h, name, version);
            if (!p) p = dlsym(h, name);
            /* Keeps the reference dlopen took: the library stays as long as we may call it. */
        }
    }
    return p;
}

void *mpt_ipx_real_get_slow(mpt_ipx_real_table *t, int i)
{
    if (!atomic_load_explicit(&t->resolved, memory_order_acquire)) {
        pthread_mutex_lock(&t->lock);
        if (!atomic_load_explicit(&t->resolved, memory_order_relaxed)) {
            for (int k = 0; k < t->count; k++)
                atomic_store(&t->slots[k], mpt_ipx_real_resolve(t->names[k], t->lib, t->lib));
            if (t->warm) mpt_ipx_symbols_warm();
            atomic_store_explicit(&t->resolved, 1, memory_order_release);
        }
        pthread_mutex_unlock(&t->lock);
    }
    void *p = atomic_load_explicit(&t->slots[i], memory_order_acquire);
    if (!p) { /* the library may have been loaded since */
        p = mpt_ipx_real_resolve(t->names[i], t->lib, t->lib);
        atomic_store(&t->slots[i], p);
    }
    return p;
}
