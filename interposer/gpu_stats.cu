/*
 * The GPU statistics kernel's nvcc translation unit: `make gpu` compiles it to
 * $(BUILD)/lib/mptrace-stats.fatbin (SASS for GPU_ARCHS plus PTX for the newest, so later GPUs
 * JIT it), which libmptrace.so loads through the driver API at run time (interposer/gpu_ring.c:
 * next to the library, or MPTRACE_GPU_KERNELS). The kernel itself is one-source
 * (gpu_stats_kernel.cu): the same file gcc compiles into libmptrace.so for simcuda's driver
 * (gpu_sim_image.c) and into the CPU test program tests/programs/ipx_gpu_stats.c. The host side
 * is plain C in gpu_ring.c, so nothing here needs the CUDA runtime or links into the library.
 */
#include "interposer/gpu_stats_kernel.cu"
#include "interposer/gpu_sample_kernel.cu"
