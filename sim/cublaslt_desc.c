/*
 * simcuda cuBLASLt: the handle, versions, and the three descriptor kinds (matmul descriptor,
 * matrix layout, preference) with their attribute get/set. Attributes are table-driven: each
 * known attribute has an offset and a size in the descriptor struct; a set with the wrong size
 * is CUBLAS_STATUS_INVALID_VALUE, a get with a zero buffer reports the size, as cuBLASLt does.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cublaslt_internal.h"

_Static_assert(sizeof(sim_lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "matmul desc too big");
_Static_assert(sizeof(sim_lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout too big");
_Static_assert(sizeof(sim_lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "pref too big");

/* ---- handle and versions ------------------------------------------------------------------ */

cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle)
{
    if (!lightHandle) return CUBLAS_STATUS_INVALID_VALUE;
    struct cublasLtContext *h = calloc(1, sizeof(*h));
    if (!h) return CUBLAS_STATUS_ALLOC_FAILED;
    h->magic = SIM_LT_MAGIC;
    *lightHandle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle)
{
    if (!lightHandle || lightHandle->magic != SIM_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    lightHandle->magic = 0;
    free(lightHandle);
    return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void)
{
    return CUBLAS_VERSION;
}

size_t cublasLtGetCudartVersion(void)
{
    return CUDART_VERSION;
}

cublasStatus_t cublasLtGetProperty(libraryPropertyType type, int *value)
{
    if (!value) return CUBLAS_STATUS_INVALID_VALUE;
    switch (type) {
    case MAJOR_VERSION:
        *value = CUBLAS_VER_MAJOR;
        break;
    case MINOR_VERSION:
        *value = CUBLAS_VER_MINOR;
        break;
    case PATCH_LEVEL:
        *value = CUBLAS_VER_PATCH;
        break;
    default:
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasLtGetStatusName(cublasStatus_t status)
{
    return sim_cublas_status_name(status);
}

const char *cublasLtGetStatusString(cublasStatus_t status)
{
    return sim_cublas_status_string(status);
}

/* ---- attribute tables --------------------------------------------------------------------- */

typedef struct attr_slot {
    int attr;
    size_t offset, size;
} attr_slot;

#define SLOT(attr, type, field)                                                                    \
    {                                                                                              \
        attr, offsetof(type, field), sizeof(((type *)0)->field)                                    \
    }

static const attr_slot desc_slots[] = {
    SLOT(CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, sim_lt_desc, compute_type),
    SLOT(CUBLASLT_MATMUL_DESC_SCALE_TYPE, sim_lt_desc, scale_type),
    SLOT(CUBLASLT_MATMUL_DESC_POINTER_MODE, sim_lt_desc, pointer_mode),
    SLOT(CUBLASLT_MATMUL_DESC_TRANSA, sim_lt_desc, transa),
    SLOT(CUBLASLT_MATMUL_DESC_TRANSB, sim_lt_desc, transb),
    SLOT(CUBLASLT_MATMUL_DESC_TRANSC, sim_lt_desc, transc),
    SLOT(CUBLASLT_MATMUL_DESC_FILL_MODE, sim_lt_desc, fill_mode),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE, sim_lt_desc, epilogue),
    SLOT(CUBLASLT_MATMUL_DESC_BIAS_POINTER, sim_lt_desc, bias),
    SLOT(CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, sim_lt_desc, bias_batch_stride),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, sim_lt_desc, aux),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, sim_lt_desc, aux_ld),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, sim_lt_desc, aux_batch_stride),
    SLOT(CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE, sim_lt_desc, alpha_vector_batch_stride),
    SLOT(CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, sim_lt_desc, sm_count_target),
    SLOT(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, sim_lt_desc, a_scale),
    SLOT(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, sim_lt_desc, b_scale),
    SLOT(CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, sim_lt_desc, c_scale),
    SLOT(CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, sim_lt_desc, d_scale),
    SLOT(CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, sim_lt_desc, amax_d),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, sim_lt_desc, aux_data_type),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_POINTER, sim_lt_desc, aux_scale),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_AMAX_POINTER, sim_lt_desc, aux_amax),
    SLOT(CUBLASLT_MATMUL_DESC_FAST_ACCUM, sim_lt_desc, fast_accum),
    SLOT(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, sim_lt_desc, bias_data_type),
    SLOT(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, sim_lt_desc, scale_mode[0]),
    SLOT(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, sim_lt_desc, scale_mode[1]),
    SLOT(CUBLASLT_MATMUL_DESC_C_SCALE_MODE, sim_lt_desc, scale_mode[2]),
    SLOT(CUBLASLT_MATMUL_DESC_D_SCALE_MODE, sim_lt_desc, scale_mode[3]),
    SLOT(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_MODE, sim_lt_desc, scale_mode[4]),
    SLOT(CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER, sim_lt_desc, d_out_scale),
    SLOT(CUBLASLT_MATMUL_DESC_D_OUT_SCALE_MODE, sim_lt_desc, scale_mode[5]),
    SLOT(CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR, sim_lt_desc, emulation),
};

static const attr_slot layout_slots[] = {
    SLOT(CUBLASLT_MATRIX_LAYOUT_TYPE, sim_lt_layout, type),
    SLOT(CUBLASLT_MATRIX_LAYOUT_ORDER, sim_lt_layout, order),
    SLOT(CUBLASLT_MATRIX_LAYOUT_ROWS, sim_lt_layout, rows),
    SLOT(CUBLASLT_MATRIX_LAYOUT_COLS, sim_lt_layout, cols),
    SLOT(CUBLASLT_MATRIX_LAYOUT_LD, sim_lt_layout, ld),
    SLOT(CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, sim_lt_layout, batch_count),
    SLOT(CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, sim_lt_layout, batch_stride),
    SLOT(CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET, sim_lt_layout, plane_offset),
    SLOT(CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, sim_lt_layout, batch_mode),
};

static const attr_slot pref_slots[] = {
    SLOT(CUBLASLT_MATMUL_PREF_SEARCH_MODE, sim_lt_pref, search_mode),
    SLOT(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, sim_lt_pref, max_workspace),
    SLOT(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, sim_lt_pref, reduction_mask),
    SLOT(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, sim_lt_pref, min_alignment[0]),
    SLOT(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, sim_lt_pref, min_alignment[1]),
    SLOT(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, sim_lt_pref, min_alignment[2]),
    SLOT(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, sim_lt_pref, min_alignment[3]),
    SLOT(CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT, sim_lt_pref, max_waves),
    SLOT(CUBLASLT_MATMUL_PREF_IMPL_MASK, sim_lt_pref, impl_mask),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const attr_slot *slot_find(const attr_slot *slots, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++)
        if (slots[i].attr == attr) return &slots[i];
    return NULL;
}

static cublasStatus_t attr_set(void *obj, uint32_t magic, const attr_slot *slots, size_t n,
                               int attr, const void *buf, size_t size)
{
    const attr_slot *s = slot_find(slots, n, attr);
    if (!obj || *(const uint32_t *)obj != magic || !s || !buf || size != s->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy((char *)obj + s->offset, buf, size);
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t attr_get(const void *obj, uint32_t magic, const attr_slot *slots, size_t n,
                               int attr, void *buf, size_t size, size_t *written)
{
    const attr_slot *s = slot_find(slots, n, attr);
    if (!obj || *(const uint32_t *)obj != magic || !s) return CUBLAS_STATUS_INVALID_VALUE;
    if (size == 0 && written) { /* a size query */
        *written = s->size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || size < s->size) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, (const char *)obj + s->offset, s->size);
    if (written) *written = s->size;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- matmul descriptor -------------------------------------------------------------------- */

cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t matmulDesc, size_t size,
                                               cublasComputeType_t computeType,
                                               cudaDataType_t scaleType)
{
    if (!matmulDesc || size < sizeof(sim_lt_desc)) return CUBLAS_STATUS_INVALID_VALUE;
    sim_lt_desc *d = SIM_LT_DESC(matmulDesc);
    memset(d, 0, sizeof(*d));
    d->magic = SIM_LT_DESC_MAGIC;
    d->compute_type = computeType;
    d->scale_type = scaleType;
    d->pointer_mode = CUBLASLT_POINTER_MODE_HOST;
    d->transa = d->transb = d->transc = CUBLAS_OP_N;
    d->fill_mode = CUBLAS_FILL_MODE_FULL;
    d->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    d->bias_data_type = -1;
    d->aux_data_type = -1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc,
                                        cublasComputeType_t computeType, cudaDataType_t scaleType)
{
    if (!matmulDesc) return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatmulDesc_t d = calloc(1, sizeof(cublasLtMatmulDescOpaque_t));
    if (!d) return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatmulDescInit_internal(d, sizeof(*d), computeType, scaleType);
    *matmulDesc = d;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc)
{
    if (matmulDesc) {
        SIM_LT_DESC(matmulDesc)->magic = 0;
        free(matmulDesc);
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc,
                                              cublasLtMatmulDescAttributes_t attr, const void *buf,
                                              size_t sizeInBytes)
{
    return attr_set(matmulDesc, SIM_LT_DESC_MAGIC, desc_slots, COUNT(desc_slots), attr, buf,
                    sizeInBytes);
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t matmulDesc,
                                              cublasLtMatmulDescAttributes_t attr, void *buf,
                                              size_t sizeInBytes, size_t *sizeWritten)
{
    return attr_get(matmulDesc, SIM_LT_DESC_MAGIC, desc_slots, COUNT(desc_slots), attr, buf,
                    sizeInBytes, sizeWritten);
}

/* ---- matrix layout ------------------------------------------------------------------------ */

cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t matLayout, size_t size,
                                                 cudaDataType type, uint64_t rows, uint64_t cols,
                                                 int64_t ld)
{
    if (!matLayout || size < sizeof(sim_lt_layout)) return CUBLAS_STATUS_INVALID_VALUE;
    sim_lt_layout *l = SIM_LT_LAYOUT(matLayout);
    memset(l, 0, sizeof(*l));
    l->magic = SIM_LT_LAYOUT_MAGIC;
    l->type = (uint32_t)type;
    l->order = CUBLASLT_ORDER_COL;
    l->rows = rows;
    l->cols = cols;
    l->ld = ld;
    l->batch_count = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld)
{
    if (!matLayout) return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatrixLayout_t l = calloc(1, sizeof(cublasLtMatrixLayoutOpaque_t));
    if (!l) return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatrixLayoutInit_internal(l, sizeof(*l), type, rows, cols, ld);
    *matLayout = l;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(const cublasLtMatrixLayout_t matLayout)
{
    if (matLayout) {
        SIM_LT_LAYOUT(matLayout)->magic = 0;
        free(matLayout);
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout,
                                                cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t sizeInBytes)
{
    return attr_set(matLayout, SIM_LT_LAYOUT_MAGIC, layout_slots, COUNT(layout_slots), attr, buf,
                    sizeInBytes);
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t matLayout,
                                                cublasLtMatrixLayoutAttribute_t attr, void *buf,
                                                size_t sizeInBytes, size_t *sizeWritten)
{
    return attr_get(matLayout, SIM_LT_LAYOUT_MAGIC, layout_slots, COUNT(layout_slots), attr, buf,
                    sizeInBytes, sizeWritten);
}

/* ---- preference --------------------------------------------------------------------------- */

cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref, size_t size)
{
    if (!pref || size < sizeof(sim_lt_pref)) return CUBLAS_STATUS_INVALID_VALUE;
    sim_lt_pref *p = SIM_LT_PREF(pref);
    memset(p, 0, sizeof(*p));
    p->magic = SIM_LT_PREF_MAGIC;
    p->search_mode = CUBLASLT_SEARCH_BEST_FIT;
    p->reduction_mask = CUBLASLT_REDUCTION_SCHEME_MASK;
    for (int i = 0; i < 4; i++)
        p->min_alignment[i] = 256;
    p->impl_mask = UINT64_MAX;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref)
{
    if (!pref) return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatmulPreference_t p = calloc(1, sizeof(cublasLtMatmulPreferenceOpaque_t));
    if (!p) return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatmulPreferenceInit_internal(p, sizeof(*p));
    *pref = p;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(const cublasLtMatmulPreference_t pref)
{
    if (pref) {
        SIM_LT_PREF(pref)->magic = 0;
        free(pref);
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void *buf, size_t sizeInBytes)
{
    return attr_set(pref, SIM_LT_PREF_MAGIC, pref_slots, COUNT(pref_slots), attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    void *buf, size_t sizeInBytes,
                                                    size_t *sizeWritten)
{
    return attr_get(pref, SIM_LT_PREF_MAGIC, pref_slots, COUNT(pref_slots), attr, buf, sizeInBytes,
                    sizeWritten);
}
