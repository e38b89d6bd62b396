/*
 * The format conversions on the GPU: one kernel that converts an array between any two
 * supported dtypes, built by `make gpu` from the very same core/fpformat_inline.h the host
 * code uses. It is both a real building block (casting a tensor to a narrower format to
 * measure what the cast would do) and the proof that the header stays valid CUDA C++ for
 * __host__ __device__ use.
 *
 * Values pass through fp32, so every conversion is the single RNE rounding of the host
 * functions except from fp64 to a format narrower than fp32, which rounds twice (fp64 -> fp32
 * -> target) and can differ from a direct RNE in the last bit at exact fp32 midpoints.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"

/* Element i of src as fp32; NaN for dtypes the kernel does not know. */
static __device__ float convert_load(int dtype, const void *src, size_t i)
{
    switch (dtype) {
    case MPT_DT_F32:
    case MPT_DT_TF32:
        return ((const float *)src)[i];
    case MPT_DT_F16:
        return mpt_f16_to_f32(((const uint16_t *)src)[i]);
    case MPT_DT_BF16:
        return mpt_bf16_to_f32(((const uint16_t *)src)[i]);
    case MPT_DT_E4M3:
        return mpt_e4m3_to_f32(((const uint8_t *)src)[i]);
    case MPT_DT_E5M2:
        return mpt_e5m2_to_f32(((const uint8_t *)src)[i]);
    case MPT_DT_F64:
        return (float)((const double *)src)[i];
    default:
        return mpt_f32_from_bits(0x7fffffffu);
    }
}

/* Stores v as element i of dst, rounding to nearest even; saturate applies to fp8 only. */
static __device__ void convert_store(int dtype, void *dst, size_t i, float v, int saturate)
{
    switch (dtype) {
    case MPT_DT_F32:
        ((float *)dst)[i] = v;
        break;
    case MPT_DT_TF32:
        ((float *)dst)[i] = mpt_f32_to_tf32(v);
        break;
    case MPT_DT_F16:
        ((uint16_t *)dst)[i] = mpt_f32_to_f16(v);
        break;
    case MPT_DT_BF16:
        ((uint16_t *)dst)[i] = mpt_f32_to_bf16(v);
        break;
    case MPT_DT_E4M3:
        ((uint8_t *)dst)[i] = mpt_f32_to_e4m3(v, saturate);
        break;
    case MPT_DT_E5M2:
        ((uint8_t *)dst)[i] = mpt_f32_to_e5m2(v, saturate);
        break;
    case MPT_DT_F64:
        ((double *)dst)[i] = (double)v;
        break;
    default:
        break;
    }
}

/*
 * dst[i] = convert(src[i]) for i in [0, n), contiguous arrays of dtypes src_dtype and
 * dst_dtype (mpt_dtype values). Grid-stride loop: any launch shape covers any n; n == 0 does
 * nothing. src and dst must not overlap unless they are the same array of the same dtype.
 */
extern "C" __global__ void mpt_convert_kernel(int src_dtype, const void *src, int dst_dtype,
                                              void *dst, size_t n, int saturate)
{
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        convert_store(dst_dtype, dst, i, convert_load(src_dtype, src, i), saturate);
}
