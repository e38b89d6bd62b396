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
