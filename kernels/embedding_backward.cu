// embedding_backward: dW[indices[k], d] += rows[k, d], skipping indices equal to padding_idx (-1: none).
// One thread per entry (k, d) of rows (K x D, C-contiguous); out (V x D) starts at zero. atomicAdd makes
// repeated indices safe; the additions land in any order (float rounding may differ from the CPU).
// See kernels/embedding_backward.py.

template <typename T>
__device__ void embedding_backward(T* out, const long long* indices, const T* rows, long long K,
                                   long long D, long long padding_idx) {
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= K * D) return;
    long long k = e / D, d = e % D;
    long long r = indices[k];
    if (r == padding_idx) return;
    atomicAdd(out + r * D + d, rows[e]);
}

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define EMBEDDING_PARAMS(T) T* out, const long long* indices, const T* rows, long long K, long long D, \
                            long long padding_idx
#define EMBEDDING_BODY(T) { embedding_backward<T>(out, indices, rows, K, D, padding_idx); }

extern "C" __global__ void embedding_backward_float(EMBEDDING_PARAMS(float)) EMBEDDING_BODY(float)
extern "C" __global__ void embedding_backward_double(EMBEDDING_PARAMS(double)) EMBEDDING_BODY(double)
