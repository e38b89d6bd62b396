/*
 * The binary contract between simcuda's libcuda.so.1 stand-in (sim/cuda_driver.c) and a program
 * that loads one-source kernels through the driver API (libmptrace.so: interposer/gpu_ring.c):
 * what cuModuleLoadData accepts as a "module image" on the CPU.
 *
 * On a GPU, cuModuleLoadData takes a cubin, PTX or fatbin. simcuda has no device code to load,
 * so its image is a table built by the caller: kernel names and, for each, the host entry that
 * runs one thread (the same mpt_sim_entry a one-source kernel's MPT_SIM_KERNEL defines, so
 * cuLaunchKernel runs it exactly as simcuda's cudaLaunchKernel runs a registered kernel). The
 * magic word keeps a real cubin from being mistaken for one and the reverse: a real driver
 * rejects this table as CUDA_ERROR_INVALID_IMAGE, and callers only pass it to a driver whose
 * device says "simcuda" (cuDeviceGetName). Changing anything here needs the version bumped.
 */
#ifndef MPT_SIM_MPT_DRIVER_ABI_H
#define MPT_SIM_MPT_DRIVER_ABI_H

#include "sim/mpt_kernel_abi.h"

#define MPT_SIM_IMAGE_MAGIC   0x4d49534bu /* "KSIM" */
#define MPT_SIM_IMAGE_VERSION 1

typedef struct mpt_sim_image_kernel {
    const char *name;    /* what cuModuleGetFunction looks up */
    mpt_sim_entry entry; /* runs one thread with the launch's kernelParams */
} mpt_sim_image_kernel;

typedef struct mpt_sim_image {
    unsigned int magic; /* MPT_SIM_IMAGE_MAGIC */
    int version;        /* MPT_SIM_IMAGE_VERSION */
    int count;
    const mpt_sim_image_kernel *kernels; /* `count` entries; must outlive the module */
} mpt_sim_image;

#endif
