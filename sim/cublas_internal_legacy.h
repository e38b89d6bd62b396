/*
 * The legacy cuBLAS API's error cell (cublas.h: functions return values and report failures
 * through cublasGetError()). Shared by sim/cublas_handle.c, which owns it, and the generated
 * legacy stubs in sim/cublas_unsupported.c, which cannot include the CUDA headers.
 */
#ifndef MPT_SIM_CUBLAS_INTERNAL_LEGACY_H
#define MPT_SIM_CUBLAS_INTERNAL_LEGACY_H

/* Records a legacy-API status (a cublasStatus_t value) for the next cublasGetError(). */
void sim_cublas_legacy_set_error(int status);

#endif
