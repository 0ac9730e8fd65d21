// attention_softmax: the softmax step of scaled dot-product attention, one CUDA block per row of the
// (A, B, L, S) scores (C-contiguous; row r is (a, b, i) with r = (a*B + b)*L + i). Same steps as the numba
// tier in kernels/attention_softmax.py:
//   forward:  s_j = scores_j*scale (+ bias) or -inf where blocked; m = row max (NaN if any NaN, 0 if all
//             -inf); e_j = exp(s_j - m); P_j = e_j / sum(e) (a row with sum 0, all blocked, stays 0)
//   backward: dS_j = P_j * (dP_j - sum_k dP_k P_k), written over dP
// bias / blocked are read through 4-d element strides (0 where they broadcast); has_* = 0: not used.
// blockDim.x must be a power of two <= 1024.

#define POS_INF __int_as_float(0x7f800000)   // no headers under NVRTC: +inf and NaN from their bits
#define QUIET_NAN __int_as_float(0x7fc00000)

template <typename T>
__device__ T block_sum(T x, T* shared) {
    shared[threadIdx.x] = x;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    T total = shared[0];
    __syncthreads();
    return total;
}

template <typename T>
__device__ T block_max(T x, int nan, T* shared, int* shared_nan) {
    shared[threadIdx.x] = x;
    if (threadIdx.x == 0) *shared_nan = 0;
    __syncthreads();
    if (nan) *shared_nan = 1;
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half && shared[threadIdx.x + half] > shared[threadIdx.x])
            shared[threadIdx.x] = shared[threadIdx.x + half];
        __syncthreads();
    }
    T top = *shared_nan ? (T)QUIET_NAN : shared[0];
    __syncthreads();
    return top;
}

template <typename T>
__device__ void softmax_forward(T* scores, long long B, long long L, long long S, T scale,
                                const T* bias, int has_bias, long long ba, long long bb, long long bi,
                                long long bj, const bool* blocked, int has_blocked, long long ka,
                                long long kb, long long ki, long long kj, T* shared, int* shared_nan) {
    long long r = blockIdx.x;
    long long i = r % L, b = (r / L) % B, a = r / (L * B);
    T* row = scores + r * S;
    T top = -(T)POS_INF;
    int nan = 0;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) {
        T x = row[j] * scale;
        if (has_bias) x = x + bias[a * ba + b * bb + i * bi + j * bj];
        if (has_blocked && blocked[a * ka + b * kb + i * ki + j * kj]) x = -(T)POS_INF;
        row[j] = x;
        if (x != x) nan = 1;
        else if (x > top) top = x;
    }
    top = block_max(top, nan, shared, shared_nan);
    if (top == -(T)POS_INF) top = 0;                   // every key blocked: the row becomes 0
    T part = 0;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) {
        T e = exp(row[j] - top);
        row[j] = e;
        part += e;
    }
    T total = block_sum(part, shared);
    if (total == 0) return;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) row[j] = row[j] / total;
}

template <typename T>
__device__ void softmax_backward(const T* p, T* dp, long long S, T* shared) {
    long long r = blockIdx.x;
    const T* prow = p + r * S;
    T* drow = dp + r * S;
    T part = 0;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) part += drow[j] * prow[j];
    T dot = block_sum(part, shared);
    for (long long j = threadIdx.x; j < S; j += blockDim.x) drow[j] = prow[j] * (drow[j] - dot);
}

#define MAX_THREADS 1024

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define FORWARD_PARAMS(T) T* scores, long long B, long long L, long long S, T scale, const T* bias, \
                          int has_bias, long long ba, long long bb, long long bi, long long bj, \
                          const bool* blocked, int has_blocked, long long ka, long long kb, long long ki, \
                          long long kj
#define FORWARD_BODY(T) { \
    __shared__ T shared[MAX_THREADS]; \
    __shared__ int shared_nan; \
    softmax_forward<T>(scores, B, L, S, scale, bias, has_bias, ba, bb, bi, bj, blocked, has_blocked, \
                       ka, kb, ki, kj, shared, &shared_nan); \
}
#define BACKWARD_PARAMS(T) const T* p, T* dp, long long S
#define BACKWARD_BODY(T) { \
    __shared__ T shared[MAX_THREADS]; \
    softmax_backward<T>(p, dp, S, shared); \
}

extern "C" __global__ void attention_softmax_forward_float(FORWARD_PARAMS(float)) FORWARD_BODY(float)
extern "C" __global__ void attention_softmax_forward_double(FORWARD_PARAMS(double)) FORWARD_BODY(double)
extern "C" __global__ void attention_softmax_backward_float(BACKWARD_PARAMS(float)) BACKWARD_BODY(float)
extern "C" __global__ void attention_softmax_backward_double(BACKWARD_PARAMS(double)) BACKWARD_BODY(double)
