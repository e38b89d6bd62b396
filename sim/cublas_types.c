/*
 * cudaDataType and cublasComputeType_t decoding shared by simcuda's cuBLAS and cuBLASLt (see
 * cublas_internal.h). The supported table follows cublasGemmEx's documentation; anything
 * outside it (integer, complex, fp8, emulated compute types) is reported as not supported
 * rather than computed some other way.
 */
#include "sim/cublas_internal.h"
#include "core/fpformat.h"

sim_type sim_cublas_type(cudaDataType t)
{
    switch (t) {
    case CUDA_R_32F:
        return SIM_T_F32;
    case CUDA_R_64F:
        return SIM_T_F64;
    case CUDA_R_16F:
        return SIM_T_F16;
    case CUDA_R_16BF:
        return SIM_T_BF16;
    default:
        return SIM_T_INVALID;
    }
}

int sim_cublas_compute(cublasComputeType_t compute, cublasMath_t math_mode, cudaDataType ab_type,
                       cudaDataType c_type, sim_compute *out)
{
    int mode = (int)math_mode & 0xf; /* the low bits; DISALLOW_REDUCED_PRECISION is a flag */
    switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
        if (ab_type != CUDA_R_16F || c_type != CUDA_R_16F) return -1;
        *out = SIM_C_16F;
        return 0;
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
        if (ab_type == CUDA_R_32F) {
            if (c_type != CUDA_R_32F) return -1;
            /* CUBLAS_TF32_TENSOR_OP_MATH lets plain 32F compute on fp32 inputs use TF32;
             * the PEDANTIC compute type ignores the math mode. */
            *out = compute == CUBLAS_COMPUTE_32F && mode == CUBLAS_TF32_TENSOR_OP_MATH
                       ? SIM_C_32F_TF32
                       : SIM_C_32F;
            return 0;
        }
        if ((ab_type == CUDA_R_16F || ab_type == CUDA_R_16BF) &&
            (c_type == ab_type || c_type == CUDA_R_32F)) {
            *out = SIM_C_32F;
            return 0;
        }
        return -1;
    case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
        if (ab_type != CUDA_R_32F || c_type != CUDA_R_32F) return -1;
        *out = compute == CUBLAS_COMPUTE_32F_FAST_TF32  ? SIM_C_32F_TF32
               : compute == CUBLAS_COMPUTE_32F_FAST_16F ? SIM_C_32F_16F
                                                        : SIM_C_32F_16BF;
        return 0;
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
        if (ab_type != CUDA_R_64F || c_type != CUDA_R_64F) return -1;
        *out = SIM_C_64F;
        return 0;
    default:
        return -1;
    }
}

sim_type sim_cublas_scale_type(sim_compute c)
{
    switch (c) {
    case SIM_C_16F:
        return SIM_T_F16;
    case SIM_C_64F:
        return SIM_T_F64;
    default:
        return SIM_T_F32;
    }
}

double sim_cublas_read_scalar(sim_type t, const void *p)
{
    switch (t) {
    case SIM_T_F16:
        return (double)mpt_f16_to_f32(*(const uint16_t *)p);
    case SIM_T_BF16:
        return (double)mpt_bf16_to_f32(*(const uint16_t *)p);
    case SIM_T_F64:
        return *(const double *)p;
    default:
        return (double)*(const float *)p;
    }
}

/* Names and messages as the real cublasGetStatusName / cublasGetStatusString give them. */
static const struct {
    cublasStatus_t status;
    const char *name, *message;
} status_table[] = {
    {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success"},
    {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED",
     "the library was not initialized"},
    {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE",
     "an unsupported value or parameter was passed to the function"},
    {CUBLAS_STATUS_ARCH_MISMATCH, "CUBLAS_STATUS_ARCH_MISMATCH",
     "the function requires an architectural feature absent from the device"},
    {CUBLAS_STATUS_MAPPING_ERROR, "CUBLAS_STATUS_MAPPING_ERROR",
     "an access to GPU memory space failed"},
    {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED",
     "the function failed to launch on the GPU"},
    {CUBLAS_STATUS_INTERNAL_ERROR, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED",
     "the requested functionality is not supported"},
    {CUBLAS_STATUS_LICENSE_ERROR, "CUBLAS_STATUS_LICENSE_ERROR", "the license check failed"},
};

const char *sim_cublas_status_name(cublasStatus_t s)
{
    for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
        if (status_table[i].status == s) return status_table[i].name;
    return "unrecognized status";
}

const char *sim_cublas_status_string(cublasStatus_t s)
{
    for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
        if (status_table[i].status == s) return status_table[i].message;
    return "unrecognized status";
}
