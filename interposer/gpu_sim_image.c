/*
 * The statistics and precision-sample kernels as simcuda's driver runs them:
 * interposer/gpu_stats_kernel.cu and gpu_sample_kernel.cu compiled by gcc as C (the one-source
 * convention), wrapped in the module image simcuda's libcuda.so.1 accepts (sim/mpt_driver_abi.h).
 * gpu_ring.c passes this image to cuModuleLoadData instead of the fatbin when the driver's device
 * says "simcuda", so libmptrace.so runs the very kernel source the GPU runs, through the same
 * driver calls, on the CPU.
 *
 * MPT_GPU_STATS_NO_REGISTER keeps the kernel file from registering itself with the CUDA
 * runtime at load time (libmptrace.so must load without one); the entries below are what
 * MPT_SIM_KERNEL would have generated.
 */
#define MPT_GPU_STATS_NO_REGISTER 1
#include "interposer/gpu_stats_kernel.cu"
#include "interposer/gpu_sample_kernel.cu"

#include "interposer/gpu_ring.h"
#include "sim/mpt_driver_abi.h"

static void stats_entry(void **a, const mpt_sim_launch *l)
{
    mpt_sim__launch = l;
    mpt_gpu_stats_kernel(*(const void **)a[0], *(int *)a[1], *(long long *)a[2], *(long long *)a[3],
                         *(long long *)a[4], *(long long *)a[5], *(long long *)a[6], *(int *)a[7],
                         *(int *)a[8], *(mpt_gpu_stats **)a[9]);
}

static void sample_entry(void **a, const mpt_sim_launch *l)
{
    mpt_sim__launch = l;
    mpt_gpu_sample_kernel(*(const mpt_gpu_sample_desc *)a[0], *(double **)a[1]);
}

static const mpt_sim_image_kernel kernels[] = {{"mpt_gpu_stats_kernel", stats_entry},
                                               {"mpt_gpu_sample_kernel", sample_entry}};
static const mpt_sim_image image = {MPT_SIM_IMAGE_MAGIC, MPT_SIM_IMAGE_VERSION, 2, kernels};

const void *mpt_gpu_sim_image(void)
{
    return &image;
}
