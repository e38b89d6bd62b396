/*
 * CUDA's enums into the trace's: cudaDataType -> mpt_dtype, cublasComputeType_t (or the legacy
 * cudaDataType some GemmEx callers still pass) -> mpt_compute_type, cublasLtEpilogue_t ->
 * mpt_epilogue. Values come from NVIDIA's headers, so a renumbering there would be a compile
 * error here, not a silent misreading.
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <library_types.h>

#include "interposer/ipx.h"

mpt_dtype mpt_ipx_dtype_from_cuda(int t)
{
    switch (t) {
    case CUDA_R_32F: return MPT_DT_F32;
    case CUDA_R_64F: return MPT_DT_F64;
    case CUDA_R_16F: return MPT_DT_F16;
    case CUDA_R_16BF: return MPT_DT_BF16;
    case CUDA_R_8F_E4M3: return MPT_DT_E4M3;
    case CUDA_R_8F_E5M2: return MPT_DT_E5M2;
    default: return MPT_DT_UNKNOWN; /* integers, complex, fp4/fp6: not analysed */
    }
}

mpt_compute_type mpt_ipx_compute_from_cuda(uint32_t raw, mpt_dtype out)
{
    mpt_compute_type c = mpt_compute_type_from_cublas(raw);
    if (c != MPT_COMPUTE_UNKNOWN) return c;
    /* Legacy: cublasGemmEx(..., cudaDataType computeType, ...) from before CUDA 11. */
    switch ((int)raw) {
    case CUDA_R_16F: return MPT_COMPUTE_16F;
    case CUDA_R_32F: return MPT_COMPUTE_32F;
    case CUDA_R_64F: return MPT_COMPUTE_64F;
    case CUDA_R_32I: return MPT_COMPUTE_32I;
    default: break;
    }
    (void)out;
    return MPT_COMPUTE_UNKNOWN;
}

mpt_epilogue mpt_ipx_epilogue_from_cuda(uint32_t raw, int *has_bias)
{
    *has_bias = 0;
    switch (raw) {
    case CUBLASLT_EPILOGUE_DEFAULT: return MPT_EPI_NONE;
    case CUBLASLT_EPILOGUE_RELU: return MPT_EPI_RELU;
    case CUBLASLT_EPILOGUE_BIAS: *has_bias = 1; return MPT_EPI_BIAS;
    case CUBLASLT_EPILOGUE_RELU_BIAS: *has_bias = 1; return MPT_EPI_RELU_BIAS;
    case CUBLASLT_EPILOGUE_GELU: return MPT_EPI_GELU;
    case CUBLASLT_EPILOGUE_GELU_BIAS: *has_bias = 1; return MPT_EPI_GELU_BIAS;
    case CUBLASLT_EPILOGUE_RELU_AUX_BIAS:
    case CUBLASLT_EPILOGUE_GELU_AUX_BIAS: *has_bias = 1; return MPT_EPI_OTHER;
    default: return MPT_EPI_OTHER; /* aux outputs, gradients: the bias pointer is an output */
    }
}

mpt_dtype mpt_ipx_scale_dtype(mpt_compute_type c, mpt_dtype out)
{
    switch (c) {
    case MPT_COMPUTE_16F:
    case MPT_COMPUTE_16F_PEDANTIC: return MPT_DT_F16;
    case MPT_COMPUTE_64F:
    case MPT_COMPUTE_64F_PEDANTIC:
    case MPT_COMPUTE_64F_EMULATED_FIXEDPOINT: return MPT_DT_F64;
    case MPT_COMPUTE_32I:
    case MPT_COMPUTE_32I_PEDANTIC: return MPT_DT_UNKNOWN;
    case MPT_COMPUTE_UNKNOWN: return out == MPT_DT_F64 ? MPT_DT_F64 : MPT_DT_F32;
    default: return MPT_DT_F32;
    }
}
