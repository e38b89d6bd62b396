/*
 * The oracle for core/fpformat.h: NVIDIA's host-side conversions from the CUDA toolkit's
 * headers, behind the C interface of nv_oracle.h. Compiled by g++ with the toolkit's include
 * directory (the Makefile adds it when cuda_fp16.h exists); the headers' host branches are
 * plain C++, so no GPU and no CUDA runtime library are needed.
 */
#include "tests/oracle/nv_oracle.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#define NV_STR2(x) #x
#define NV_STR(x)  NV_STR2(x)

extern "C" int nv_oracle_available(void)
{
    return 1;
}

extern "C" const char *nv_oracle_describe(void)
{
#ifdef CUDART_VERSION
    return "NVIDIA host conversions, CUDART_VERSION " NV_STR(
        CUDART_VERSION) " (cuda_fp16.h, cuda_bf16.h, cuda_fp8.h)";
#else
    return "NVIDIA CUDA host conversions (cuda_fp16.h, cuda_bf16.h, cuda_fp8.h)";
#endif
}

extern "C" uint16_t nv_f32_to_f16(float f)
{
    __half_raw r = __half_raw(__float2half_rn(f));
    return r.x;
}

extern "C" float nv_f16_to_f32(uint16_t h)
{
    __half_raw r;
    r.x = h;
    return __half2float(__half(r));
}

extern "C" uint16_t nv_f32_to_bf16(float f)
{
    __nv_bfloat16_raw r = __nv_bfloat16_raw(__float2bfloat16_rn(f));
    return r.x;
}

extern "C" float nv_bf16_to_f32(uint16_t b)
{
    __nv_bfloat16_raw r;
    r.x = b;
    return __bfloat162float(__nv_bfloat16(r));
}

extern "C" uint8_t nv_f32_to_e4m3(float f, int saturate)
{
    return __nv_cvt_float_to_fp8(f, saturate ? __NV_SATFINITE : __NV_NOSAT, __NV_E4M3);
}

extern "C" uint8_t nv_f32_to_e5m2(float f, int saturate)
{
    return __nv_cvt_float_to_fp8(f, saturate ? __NV_SATFINITE : __NV_NOSAT, __NV_E5M2);
}

extern "C" float nv_e4m3_to_f32(uint8_t b)
{
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3)));
}

extern "C" float nv_e5m2_to_f32(uint8_t b)
{
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(b, __NV_E5M2)));
}
