/*
 * Stand-in for nv_oracle.cpp when the CUDA toolkit's headers are not found: the oracle reports
 * itself unavailable and the oracle tests print SKIP. The conversions return 0 and must not be
 * relied on; they exist only so that the tests link.
 */
#include "tests/oracle/nv_oracle.h"

int nv_oracle_available(void)
{
    return 0;
}

const char *nv_oracle_describe(void)
{
    return "cuda_fp16.h was not under CUDA_HOME at build time";
}

uint16_t nv_f32_to_f16(float f)
{
    (void)f;
    return 0;
}

float nv_f16_to_f32(uint16_t h)
{
    (void)h;
    return 0.0f;
}

uint16_t nv_f32_to_bf16(float f)
{
    (void)f;
    return 0;
}

float nv_bf16_to_f32(uint16_t b)
{
    (void)b;
    return 0.0f;
}

uint8_t nv_f32_to_e4m3(float f, int saturate)
{
    (void)f;
    (void)saturate;
    return 0;
}

uint8_t nv_f32_to_e5m2(float f, int saturate)
{
    (void)f;
    (void)saturate;
    return 0;
}

float nv_e4m3_to_f32(uint8_t b)
{
    (void)b;
    return 0.0f;
}

float nv_e5m2_to_f32(uint8_t b)
{
    (void)b;
    return 0.0f;
}
