/*
 * simcuda cuBLASLt's API around the matmul: the heuristic (one algorithm for what simcuda
 * computes, NOT_SUPPORTED for what it does not, INVALID_VALUE for inconsistent shapes), the
 * descriptor attributes (size queries, wrong sizes, unknown ids), descriptors in user storage
 * (the header's inline cublasLt*Init over our *_internal), and algorithm enumeration, presets,
 * configuration and capabilities.
 */
#include <check.h>

#if __has_include(<cublasLt.h>)
#include <cublasLt.h>
#include <string.h>

#include "test_sim_util.h"

/* What simcuda refuses at heuristic time (so programs learn before they run), and bad shapes. */
START_TEST(test_lt_refusals)
{
    if (!sim_test_available()) return;
    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t l, l8, lbad;
    cublasLtMatmulHeuristicResult_t heur;
    int found = 7;
    __typeof__(&cublasLtMatmulAlgoGetHeuristic) heuristic =
        SIM_FN(CUBLASLT, cublasLtMatmulAlgoGetHeuristic);
    __typeof__(&cublasLtMatmulDescSetAttribute) dset =
        SIM_FN(CUBLASLT, cublasLtMatmulDescSetAttribute);
    SIM_FN(CUBLASLT, cublasLtCreate)(&lt);
    SIM_FN(CUBLASLT, cublasLtMatmulDescCreate)(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutCreate)(&l, CUDA_R_32F, 4, 4, 4);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutCreate)(&l8, CUDA_R_8F_E4M3, 4, 4, 4);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutCreate)(&lbad, CUDA_R_32F, 5, 4, 5);
    ck_assert_int_eq(heuristic(lt, op, l, l, l, l, NULL, 1, &heur, &found), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(heuristic(lt, op, l8, l8, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(heuristic(lt, op, lbad, l, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(heuristic(NULL, op, l, l, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    uint32_t epi = CUBLASLT_EPILOGUE_DGELU;
    ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(heuristic(lt, op, l, l, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    epi = CUBLASLT_EPILOGUE_DEFAULT;
    dset(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi));
    float scale = 2.0f, *sp = &scale;
    ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sp, sizeof(sp)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(heuristic(lt, op, l, l, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    int32_t order = CUBLASLT_ORDER_COL32;
    sp = NULL;
    dset(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sp, sizeof(sp));
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutSetAttribute)
    (l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof(order));
    ck_assert_int_eq(heuristic(lt, op, l, l, l, l, NULL, 1, &heur, &found),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(l);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(l8);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(lbad);
    SIM_FN(CUBLASLT, cublasLtMatmulDescDestroy)(op);
    SIM_FN(CUBLASLT, cublasLtDestroy)(lt);
}
END_TEST

/* Attributes: size queries, wrong sizes, unknown ids; descriptors in user storage through the
 * header's inline cublasLt*Init (which call our *_internal). */
START_TEST(test_lt_attributes)
{
    if (!sim_test_available()) return;
    cublasLtMatmulDescOpaque_t storage;
    cublasLtMatmulDesc_t op = &storage;
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulDescInit_internal)(
                         op, sizeof(storage), CUBLAS_COMPUTE_32F, CUDA_R_32F),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(
        SIM_FN(CUBLASLT, cublasLtMatmulDescInit_internal)(op, 8, CUBLAS_COMPUTE_32F, CUDA_R_32F),
        CUBLAS_STATUS_INVALID_VALUE);
    __typeof__(&cublasLtMatmulDescGetAttribute) get =
        SIM_FN(CUBLASLT, cublasLtMatmulDescGetAttribute);
    size_t written = 0;
    int32_t v = -1;
    int64_t stride = 0;
    ck_assert_int_eq(get(op, CUBLASLT_MATMUL_DESC_TRANSA, NULL, 0, &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(written, sizeof(int32_t));
    ck_assert_int_eq(get(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, NULL, 0, &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(written, sizeof(int64_t));
    ck_assert_int_eq(get(op, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &v, sizeof(v), &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(v, CUBLAS_COMPUTE_32F);
    ck_assert_int_eq(get(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &v, sizeof(v), NULL),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulDescSetAttribute)(
                         op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &v, sizeof(v)),
                     CUBLAS_STATUS_INVALID_VALUE); /* int64 attribute, 4 bytes given */
    ck_assert_int_eq(get(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &stride, 4, NULL),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(get(op, (cublasLtMatmulDescAttributes_t)9999, &v, sizeof(v), NULL),
                     CUBLAS_STATUS_INVALID_VALUE);

    cublasLtMatrixLayoutOpaque_t ls;
    uint64_t rows = 0;
    ck_assert_int_eq(
        SIM_FN(CUBLASLT, cublasLtMatrixLayoutInit_internal)(&ls, sizeof(ls), CUDA_R_16F, 3, 4, 5),
        CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatrixLayoutGetAttribute)(
                         &ls, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof(rows), &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(rows, 3);
    cublasLtMatmulPreference_t pref;
    uint64_t ws = 1 << 20, back = 0;
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulPreferenceCreate)(&pref),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulPreferenceSetAttribute)(
                         pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulPreferenceGetAttribute)(
                         pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &back, sizeof(back), NULL),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(back, ws);
    SIM_FN(CUBLASLT, cublasLtMatmulPreferenceDestroy)(pref);
    ck_assert_uint_eq(SIM_FN(CUBLASLT, cublasLtGetVersion)(), CUBLAS_VERSION);
    ck_assert_str_eq(SIM_FN(CUBLASLT, cublasLtGetStatusName)(CUBLAS_STATUS_SUCCESS),
                     "CUBLAS_STATUS_SUCCESS");
}
END_TEST

/* Algorithm enumeration and presets: ids and configurations are recorded and read back, the
 * read-only id cannot be set, capabilities answer with the documented sizes. */
START_TEST(test_lt_algorithms)
{
    if (!sim_test_available()) return;
    cublasLtHandle_t lt;
    cublasLtMatmulAlgo_t algo;
    int ids[4], n = 0;
    SIM_FN(CUBLASLT, cublasLtCreate)(&lt);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulAlgoGetIds)(lt, CUBLAS_COMPUTE_32F, CUDA_R_32F,
                                                                CUDA_R_16F, CUDA_R_16F, CUDA_R_16F,
                                                                CUDA_R_16F, 4, ids, &n),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulAlgoGetIds)(lt, CUBLAS_COMPUTE_32F, CUDA_R_32F,
                                                                CUDA_R_8I, CUDA_R_8I, CUDA_R_32F,
                                                                CUDA_R_32F, 4, ids, &n),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulAlgoInit)(lt, CUBLAS_COMPUTE_64F, CUDA_R_64F,
                                                              CUDA_R_64F, CUDA_R_64F, CUDA_R_64F,
                                                              CUDA_R_64F, 10, &algo),
                     CUBLAS_STATUS_SUCCESS);
    __typeof__(&cublasLtMatmulAlgoConfigGetAttribute) get =
        SIM_FN(CUBLASLT, cublasLtMatmulAlgoConfigGetAttribute);
    __typeof__(&cublasLtMatmulAlgoConfigSetAttribute) set =
        SIM_FN(CUBLASLT, cublasLtMatmulAlgoConfigSetAttribute);
    int32_t id = -1, splitk = 256;
    uint32_t tile = CUBLASLT_MATMUL_TILE_16x16;
    size_t written = 0;
    ck_assert_int_eq(get(&algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(id, 10);
    ck_assert_int_eq(set(&algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id)),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(set(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(set(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, 2),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(set(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof(splitk)),
                     CUBLAS_STATUS_SUCCESS);
    tile = 0;
    ck_assert_int_eq(get(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile), NULL),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(tile, CUBLASLT_MATMUL_TILE_16x16);
    uint64_t flags = 1;
    int32_t strided = 0;
    __typeof__(&cublasLtMatmulAlgoCapGetAttribute) cap =
        SIM_FN(CUBLASLT, cublasLtMatmulAlgoCapGetAttribute);
    ck_assert_int_eq(cap(&algo, CUBLASLT_ALGO_CAP_NUMERICAL_IMPL_FLAGS, NULL, 0, &written),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_uint_eq(written, 8);
    ck_assert_int_eq(
        cap(&algo, CUBLASLT_ALGO_CAP_NUMERICAL_IMPL_FLAGS, &flags, sizeof(flags), NULL),
        CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(
        cap(&algo, CUBLASLT_ALGO_CAP_STRIDED_BATCH_SUPPORT, &strided, sizeof(strided), NULL),
        CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(strided, 1);
    cublasLtMatmulAlgo_t junk;
    memset(&junk, 0, sizeof(junk));
    ck_assert_int_eq(get(&junk, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), NULL),
                     CUBLAS_STATUS_INVALID_VALUE);
    SIM_FN(CUBLASLT, cublasLtDestroy)(lt);
}
END_TEST

#else
#include <stdio.h>
START_TEST(test_sim_lt_api_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_lt_api not run\n");
}
END_TEST
#endif

extern Suite *suite_sim_lt_api(void);
Suite *suite_sim_lt_api(void)
{
    Suite *s = suite_create("sim_lt_api");
    TCase *tc = tcase_create("cublasLt");
#if __has_include(<cublasLt.h>)
    tcase_add_test(tc, test_lt_refusals);
    tcase_add_test(tc, test_lt_attributes);
    tcase_add_test(tc, test_lt_algorithms);
#else
    tcase_add_test(tc, test_sim_lt_api_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
