/*
 * The binary contract between a one-source kernel's translation unit (sim/mpt_kernel.h, built
 * with gcc into the user's program) and simcuda's runtime (sim/cudart_launch.c): the module
 * marker passed to __cudaRegisterFatBinary, and what an entry receives per thread. Changing
 * anything here needs MPT_SIM_MODULE_VERSION bumped.
 */
#ifndef MPT_SIM_MPT_KERNEL_ABI_H
#define MPT_SIM_MPT_KERNEL_ABI_H

/* The first two ints of the module wrapper passed to __cudaRegisterFatBinary; a real fatbin
 * wrapper starts with 0x466243b1 instead. */
#define MPT_SIM_MODULE_MAGIC   0x4d53494du /* "MISM" */
#define MPT_SIM_MODULE_VERSION 1

typedef struct mpt_sim_module {
    unsigned int magic;
    int version;
    const void *reserved0;
    const void *reserved1;
} mpt_sim_module;

typedef struct mpt_sim_dim3 {
    unsigned int x, y, z;
} mpt_sim_dim3;

/* What simcuda passes to a kernel's entry for one thread. */
typedef struct mpt_sim_launch {
    mpt_sim_dim3 grid_dim, block_dim, block_idx, thread_idx;
} mpt_sim_launch;

/* A kernel's entry: called once per thread with the launch's argument array. */
typedef void (*mpt_sim_entry)(void **args, const mpt_sim_launch *launch);

#endif
