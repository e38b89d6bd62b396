/*
 * simcuda cuBLASLt: the algorithm queries, for programs that enumerate or preset algorithms
 * instead of asking the heuristic. simcuda has one engine; an algorithm here is an id and a
 * configuration (tile, split-K, reduction scheme, ...) that are validated for size, recorded,
 * and reported back, while the computation is always the engine's. The capabilities describe
 * that engine: any shape, strided and pointer-array batches, out-of-place results, host and
 * device scalars, the epilogues simcuda implements, no split-K.
 */
#include <stddef.h>
#include <string.h>

#include "sim/cublaslt_internal.h"

cublasStatus_t cublasLtMatmulAlgoGetIds(cublasLtHandle_t lightHandle,
                                        cublasComputeType_t computeType, cudaDataType_t scaleType,
                                        cudaDataType_t Atype, cudaDataType_t Btype,
                                        cudaDataType_t Ctype, cudaDataType_t Dtype,
                                        int requestedAlgoCount, int algoIdsArray[],
                                        int *returnAlgoCount)
{
    if (!lightHandle || lightHandle->magic != SIM_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requestedAlgoCount < 1 || !algoIdsArray || !returnAlgoCount)
        return CUBLAS_STATUS_INVALID_VALUE;
    sim_compute c;
    *returnAlgoCount = 0;
    if (Atype == Btype && Ctype == Dtype &&
        sim_cublas_compute(computeType, CUBLAS_DEFAULT_MATH, Atype, Ctype, &c) == 0 &&
        sim_cublas_type(scaleType) == sim_cublas_scale_type(c)) {
        algoIdsArray[0] = 0;
        *returnAlgoCount = 1;
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoInit(cublasLtHandle_t lightHandle, cublasComputeType_t computeType,
                                      cudaDataType_t scaleType, cudaDataType_t Atype,
                                      cudaDataType_t Btype, cudaDataType_t Ctype,
                                      cudaDataType_t Dtype, int algoId, cublasLtMatmulAlgo_t *algo)
{
    int ids[1], n = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetIds(lightHandle, computeType, scaleType, Atype, Btype,
                                                 Ctype, Dtype, 1, ids, &n);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    if (n == 0) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!algo || algoId < 0) return CUBLAS_STATUS_INVALID_VALUE;
    /* A GPU algorithm id (programs preset ones they tuned on a GPU) is recorded as given. */
    sim_lt_algo_fill(algo);
    SIM_LT_ALGO(algo)->id = algoId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoCheck(cublasLtHandle_t lightHandle,
                                       cublasLtMatmulDesc_t operationDesc,
                                       cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                                       cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
                                       const cublasLtMatmulAlgo_t *algo,
                                       cublasLtMatmulHeuristicResult_t *result)
{
    if (!lightHandle || lightHandle->magic != SIM_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!algo || !result || SIM_LT_ALGO(algo)->magic != SIM_LT_ALGO_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    sim_gemm g;
    cublasStatus_t st = sim_lt_plan(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, &g);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    sim_lt_result_fill(result);
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- configuration ------------------------------------------------------------------------- */

typedef struct config_slot {
    int attr;
    size_t offset, size;
    int read_only;
} config_slot;

#define CSLOT(attr, field, ro)                                                                     \
    {                                                                                              \
        attr, offsetof(sim_lt_algo, field), sizeof(((sim_lt_algo *)0)->field), ro                  \
    }

static const config_slot config_slots[] = {
    CSLOT(CUBLASLT_ALGO_CONFIG_ID, id, 1),
    CSLOT(CUBLASLT_ALGO_CONFIG_TILE_ID, tile, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_SPLITK_NUM, splitk, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, reduction, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, swizzle, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, custom, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_STAGES_ID, stages, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, inner_shape, 0),
    CSLOT(CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, cluster_shape, 0),
};

static const config_slot *config_find(int attr)
{
    for (size_t i = 0; i < sizeof(config_slots) / sizeof(config_slots[0]); i++)
        if (config_slots[i].attr == attr) return &config_slots[i];
    return NULL;
}

cublasStatus_t cublasLtMatmulAlgoConfigSetAttribute(cublasLtMatmulAlgo_t *algo,
                                                    cublasLtMatmulAlgoConfigAttributes_t attr,
                                                    const void *buf, size_t sizeInBytes)
{
    const config_slot *s = config_find(attr);
    if (!algo || SIM_LT_ALGO(algo)->magic != SIM_LT_ALGO_MAGIC || !s || s->read_only || !buf ||
        sizeInBytes != s->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy((char *)algo + s->offset, buf, s->size);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoConfigGetAttribute(const cublasLtMatmulAlgo_t *algo,
                                                    cublasLtMatmulAlgoConfigAttributes_t attr,
                                                    void *buf, size_t sizeInBytes,
                                                    size_t *sizeWritten)
{
    const config_slot *s = config_find(attr);
    if (!algo || SIM_LT_ALGO(algo)->magic != SIM_LT_ALGO_MAGIC || !s)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (sizeInBytes == 0 && sizeWritten) {
        *sizeWritten = s->size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || sizeInBytes < s->size) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, (const char *)algo + s->offset, s->size);
    if (sizeWritten) *sizeWritten = s->size;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- capabilities -------------------------------------------------------------------------- */

cublasStatus_t cublasLtMatmulAlgoCapGetAttribute(const cublasLtMatmulAlgo_t *algo,
                                                 cublasLtMatmulAlgoCapAttributes_t attr, void *buf,
                                                 size_t sizeInBytes, size_t *sizeWritten)
{
    if (!algo || SIM_LT_ALGO(algo)->magic != SIM_LT_ALGO_MAGIC) return CUBLAS_STATUS_INVALID_VALUE;
    union {
        int32_t i32;
        uint32_t u32;
        uint64_t u64;
    } v;
    size_t size = 4;
    switch (attr) {
    case CUBLASLT_ALGO_CAP_SPLITK_SUPPORT:
        v.i32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK:
        v.u32 = CUBLASLT_REDUCTION_SCHEME_NONE;
        break;
    case CUBLASLT_ALGO_CAP_CTA_SWIZZLING_SUPPORT:
        v.u32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_STRIDED_BATCH_SUPPORT:
        v.i32 = 1;
        break;
    case CUBLASLT_ALGO_CAP_OUT_OF_PLACE_RESULT_SUPPORT:
        v.i32 = 1;
        break;
    case CUBLASLT_ALGO_CAP_UPLO_SUPPORT:
        v.i32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_TILE_IDS:
        v.u32 = CUBLASLT_MATMUL_TILE_UNDEFINED;
        break; /* one entry */
    case CUBLASLT_ALGO_CAP_STAGES_IDS:
        v.u32 = CUBLASLT_MATMUL_STAGES_UNDEFINED;
        break;
    case CUBLASLT_ALGO_CAP_CUSTOM_OPTION_MAX:
        v.i32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_CUSTOM_MEMORY_ORDER:
        v.i32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_POINTER_MODE_MASK:
        v.u32 = CUBLASLT_POINTER_MODE_MASK_HOST | CUBLASLT_POINTER_MODE_MASK_DEVICE;
        break;
    case CUBLASLT_ALGO_CAP_EPILOGUE_MASK:
        v.u32 = CUBLASLT_EPILOGUE_DEFAULT | CUBLASLT_EPILOGUE_RELU | CUBLASLT_EPILOGUE_BIAS |
                CUBLASLT_EPILOGUE_GELU;
        break;
    case CUBLASLT_ALGO_CAP_LD_NEGATIVE:
        v.i32 = 0;
        break;
    case CUBLASLT_ALGO_CAP_NUMERICAL_IMPL_FLAGS:
        v.u64 = 0, size = 8;
        break;
    case CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_A_BYTES:
    case CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_B_BYTES:
    case CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_C_BYTES:
    case CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_D_BYTES:
        v.u32 = 1;
        break;
    case CUBLASLT_ALGO_CAP_POINTER_ARRAY_BATCH_SUPPORT:
        v.i32 = 1;
        break;
    case CUBLASLT_ALGO_CAP_FLOATING_POINT_EMULATION_SUPPORT:
        v.i32 = 0;
        break;
    default:
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (sizeInBytes == 0 && sizeWritten) {
        *sizeWritten = size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || sizeInBytes < size) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, &v, size);
    if (sizeWritten) *sizeWritten = size;
    return CUBLAS_STATUS_SUCCESS;
}
