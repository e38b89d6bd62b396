/*
 * A stand-in for the one runtime answer simcuda never gives: "this stream is capturing a CUDA
 * graph" (simcuda does not implement capture). Preloaded after libmptrace.so
 * (LD_PRELOAD=libmptrace.so:libcaptureshim.so), its cudaStreamIsCapturing@libcudart.so.13 is
 * the "real" function the interposer finds with dlvsym(RTLD_NEXT): every created stream (any
 * handle but NULL, cudaStreamLegacy and cudaStreamPerThread) reports an active capture, so
 * test_interposer_gpu.c can check that GEMMs on it are recorded with skip "graph capture" and
 * nothing is queued on them.
 */
#include <cuda_runtime_api.h>
#include <stddef.h>

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *status)
{
    if (!status) return cudaErrorInvalidValue;
    int builtin = stream == NULL || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
    *status = builtin ? cudaStreamCaptureStatusNone : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}
