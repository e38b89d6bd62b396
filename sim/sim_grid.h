/*
 * Running a one-source kernel's grid on the CPU: shared by simcuda's runtime (cudaLaunchKernel,
 * sim/cudart_launch.c) and its driver stand-in (cuLaunchKernel, sim/cuda_driver.c), so a kernel
 * runs the same way whichever API launched it.
 */
#ifndef MPT_SIM_SIM_GRID_H
#define MPT_SIM_SIM_GRID_H

#include "sim/mpt_kernel_abi.h"

/* Calls entry(args, launch) once per thread: blocks in order (x fastest), the threads of a
 * block in order (x fastest), each to completion, in the calling thread. The shape must have
 * been validated (no zero dimension). */
void sim_grid_run(mpt_sim_entry entry, void **args, mpt_sim_dim3 grid, mpt_sim_dim3 block);

#endif
