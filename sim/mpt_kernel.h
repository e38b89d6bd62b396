/*
 * One-source kernels (ARCHITECTURE.md, decision 2): a kernel written once, in the C subset of
 * CUDA below, that nvcc compiles for the GPU and gcc compiles as host code which simcuda's
 * cudaLaunchKernel runs on the CPU.
 *
 *     MPT_GLOBAL void scale_kernel(float *x, float a, int n)
 *     {
 *         unsigned i = MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X;
 *         if (i < (unsigned)n)
 *             x[i] *= a;
 *     }
 *     MPT_SIM_KERNEL(scale_kernel, float *, float, int)   // the parameter types, in order
 *
 * and it is launched the same way under both compilers, through the runtime API:
 *
 *     void *args[] = {&x, &a, &n};
 *     cudaLaunchKernel((const void *)scale_kernel, grid, block, args, 0, stream);
 *
 * Under nvcc the macros are CUDA's builtins and MPT_SIM_KERNEL is empty (nvcc registers
 * __global__ functions itself). Under gcc MPT_SIM_KERNEL defines, in the kernel's translation
 * unit, an entry function that unpacks the argument array and a constructor that registers the
 * kernel with the CUDA runtime's own registration entry points (__cudaRegisterFatBinary with a
 * simcuda module marker, then __cudaRegisterFunction), so the program links against nothing but
 * the CUDA runtime. simcuda then runs the kernel once per thread index, block after block,
 * thread after thread, with the indices visible through the MPT_* macros.
 *
 * What the CPU model gives and does not give (keep kernels inside it):
 *  - threads of a block run one after another to completion: no __syncthreads, no shared
 *    memory, no warp intrinsics (MPT_SYNCTHREADS is deliberately not defined under gcc, so a
 *    kernel that needs it fails to compile rather than computing garbage);
 *  - atomics through MPT_ATOMIC_*, which are real atomics on both sides;
 *  - device helper functions: `static MPT_DEVICE inline float sq(float x) { ... }`.
 * A binary built with gcc this way runs only on simcuda: the real runtime rejects the module.
 */
#ifndef MPT_SIM_MPT_KERNEL_H
#define MPT_SIM_MPT_KERNEL_H

#ifdef __CUDACC__

#define MPT_GLOBAL               __global__
#define MPT_DEVICE               __device__
#define MPT_THREAD_IDX_X         threadIdx.x
#define MPT_THREAD_IDX_Y         threadIdx.y
#define MPT_THREAD_IDX_Z         threadIdx.z
#define MPT_BLOCK_IDX_X          blockIdx.x
#define MPT_BLOCK_IDX_Y          blockIdx.y
#define MPT_BLOCK_IDX_Z          blockIdx.z
#define MPT_BLOCK_DIM_X          blockDim.x
#define MPT_BLOCK_DIM_Y          blockDim.y
#define MPT_BLOCK_DIM_Z          blockDim.z
#define MPT_GRID_DIM_X           gridDim.x
#define MPT_GRID_DIM_Y           gridDim.y
#define MPT_GRID_DIM_Z           gridDim.z
#define MPT_SYNCTHREADS()        __syncthreads()
#define MPT_ATOMIC_ADD_F32(p, v) atomicAdd((float *)(p), (float)(v))
#define MPT_ATOMIC_ADD_U32(p, v) atomicAdd((unsigned int *)(p), (unsigned int)(v))
#define MPT_ATOMIC_ADD_U64(p, v) atomicAdd((unsigned long long *)(p), (unsigned long long)(v))
#define MPT_ATOMIC_MAX_U32(p, v) atomicMax((unsigned int *)(p), (unsigned int)(v))
#define MPT_SIM_KERNEL(...)
#define MPT_SIM_KERNEL0(name)

#else /* gcc: host code for simcuda */

#include <stddef.h>
#include <string.h>

#include "sim/mpt_kernel_abi.h"

/* The CUDA runtime's registration entry points (declared by crt/host_runtime.h under nvcc). */
extern void **__cudaRegisterFatBinary(void *fatCubin);
extern void __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
extern void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                                   const char *deviceName, int thread_limit, void *tid, void *bid,
                                   void *bDim, void *gDim, int *wSize);

/* The thread being run, per translation unit (set by the entry before each call). */
static __thread const mpt_sim_launch *mpt_sim__launch __attribute__((unused));

#define MPT_GLOBAL
#define MPT_DEVICE
#define MPT_THREAD_IDX_X (mpt_sim__launch->thread_idx.x)
#define MPT_THREAD_IDX_Y (mpt_sim__launch->thread_idx.y)
#define MPT_THREAD_IDX_Z (mpt_sim__launch->thread_idx.z)
#define MPT_BLOCK_IDX_X  (mpt_sim__launch->block_idx.x)
#define MPT_BLOCK_IDX_Y  (mpt_sim__launch->block_idx.y)
#define MPT_BLOCK_IDX_Z  (mpt_sim__launch->block_idx.z)
#define MPT_BLOCK_DIM_X  (mpt_sim__launch->block_dim.x)
#define MPT_BLOCK_DIM_Y  (mpt_sim__launch->block_dim.y)
#define MPT_BLOCK_DIM_Z  (mpt_sim__launch->block_dim.z)
#define MPT_GRID_DIM_X   (mpt_sim__launch->grid_dim.x)
#define MPT_GRID_DIM_Y   (mpt_sim__launch->grid_dim.y)
#define MPT_GRID_DIM_Z   (mpt_sim__launch->grid_dim.z)

static inline float mpt_sim__atomic_add_f32(float *p, float v)
{
    unsigned int old = __atomic_load_n((unsigned int *)p, __ATOMIC_RELAXED), next;
    float f;
    do {
        memcpy(&f, &old, sizeof(f));
        f += v;
        memcpy(&next, &f, sizeof(next));
    } while (!__atomic_compare_exchange_n((unsigned int *)p, &old, next, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    memcpy(&f, &old, sizeof(f));
    return f;
}

static inline unsigned int mpt_sim__atomic_max_u32(unsigned int *p, unsigned int v)
{
    unsigned int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v &&
           !__atomic_compare_exchange_n(p, &old, v, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return old;
}

/* clang-format off */
#define MPT_ATOMIC_ADD_F32(p, v) mpt_sim__atomic_add_f32((float *)(p), (float)(v))
#define MPT_ATOMIC_ADD_U32(p, v)                                                                   \
    __atomic_fetch_add((unsigned int *)(p), (unsigned int)(v), __ATOMIC_RELAXED)
#define MPT_ATOMIC_ADD_U64(p, v)                                                                   \
    __atomic_fetch_add((unsigned long long *)(p), (unsigned long long)(v), __ATOMIC_RELAXED)
#define MPT_ATOMIC_MAX_U32(p, v) mpt_sim__atomic_max_u32((unsigned int *)(p), (unsigned int)(v))
/* clang-format on */

/* Registers one kernel: `host` is the address programs pass to cudaLaunchKernel. */
static inline void mpt_sim__register(void (*host)(void), mpt_sim_entry entry, const char *name)
{
    static mpt_sim_module module = {MPT_SIM_MODULE_MAGIC, MPT_SIM_MODULE_VERSION, NULL, NULL};
    union {
        void (*fn)(void);
        mpt_sim_entry entry;
        char *bytes;
    } h, e;
    h.fn = host;
    e.entry = entry;
    void **handle = __cudaRegisterFatBinary(&module);
    __cudaRegisterFunction(handle, h.bytes, e.bytes, name, -1, NULL, NULL, NULL, NULL, NULL);
    __cudaRegisterFatBinaryEnd(handle);
}

/* Argument-counting macros (aligned by hand: clang-format would stretch them past 100). */
/* clang-format off */
#define MPT_SIM__CAT_(a, b) a##b
#define MPT_SIM__CAT(a, b) MPT_SIM__CAT_(a, b)
#define MPT_SIM__NARGS(...) MPT_SIM__NARGS_(__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define MPT_SIM__NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, N, ...) N
#define MPT_SIM__A(i, T) *(T *)mpt_sim__args[i]
#define MPT_SIM__CALL1(f, T0) f(MPT_SIM__A(0, T0))
#define MPT_SIM__CALL2(f, T0, T1) f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1))
#define MPT_SIM__CALL3(f, T0, T1, T2)                                                              \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2))
#define MPT_SIM__CALL4(f, T0, T1, T2, T3)                                                          \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3))
#define MPT_SIM__CALL5(f, T0, T1, T2, T3, T4)                                                      \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3), MPT_SIM__A(4, T4))
#define MPT_SIM__CALL6(f, T0, T1, T2, T3, T4, T5)                                                  \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3),                  \
      MPT_SIM__A(4, T4), MPT_SIM__A(5, T5))
#define MPT_SIM__CALL7(f, T0, T1, T2, T3, T4, T5, T6)                                              \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3),                  \
      MPT_SIM__A(4, T4), MPT_SIM__A(5, T5), MPT_SIM__A(6, T6))
#define MPT_SIM__CALL8(f, T0, T1, T2, T3, T4, T5, T6, T7)                                          \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3),                  \
      MPT_SIM__A(4, T4), MPT_SIM__A(5, T5), MPT_SIM__A(6, T6), MPT_SIM__A(7, T7))
#define MPT_SIM__CALL9(f, T0, T1, T2, T3, T4, T5, T6, T7, T8)                                      \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3),                  \
      MPT_SIM__A(4, T4), MPT_SIM__A(5, T5), MPT_SIM__A(6, T6), MPT_SIM__A(7, T7),                  \
      MPT_SIM__A(8, T8))
#define MPT_SIM__CALL10(f, T0, T1, T2, T3, T4, T5, T6, T7, T8, T9)                                 \
    f(MPT_SIM__A(0, T0), MPT_SIM__A(1, T1), MPT_SIM__A(2, T2), MPT_SIM__A(3, T3),                  \
      MPT_SIM__A(4, T4), MPT_SIM__A(5, T5), MPT_SIM__A(6, T6), MPT_SIM__A(7, T7),                  \
      MPT_SIM__A(8, T8), MPT_SIM__A(9, T9))

/* clang-format on */

#define MPT_SIM__DEFINE(name, call)                                                                \
    static void name##__mpt_sim_entry(void **mpt_sim__args, const mpt_sim_launch *mpt_sim__l)      \
    {                                                                                              \
        (void)mpt_sim__args;                                                                       \
        mpt_sim__launch = mpt_sim__l;                                                              \
        call;                                                                                      \
    }                                                                                              \
    __attribute__((constructor)) static void name##__mpt_sim_register(void)                        \
    {                                                                                              \
        union {                                                                                    \
            __typeof__(&name) k;                                                                   \
            void (*fn)(void);                                                                      \
        } u;                                                                                       \
        u.k = &name;                                                                               \
        mpt_sim__register(u.fn, name##__mpt_sim_entry, #name);                                     \
    }

/* Kernels with 1 to 10 parameters: list their types in order. */
#define MPT_SIM_KERNEL(name, ...)                                                                  \
    MPT_SIM__DEFINE(name,                                                                          \
                    MPT_SIM__CAT(MPT_SIM__CALL, MPT_SIM__NARGS(__VA_ARGS__))(name, __VA_ARGS__))
/* Kernels without parameters. */
#define MPT_SIM_KERNEL0(name) MPT_SIM__DEFINE(name, name())

#endif /* __CUDACC__ */

#endif
