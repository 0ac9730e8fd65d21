// softmax_cross_entropy: cross-entropy with class indices and its gradient, on the GPU (the CuPy
// tier of kernels/softmax_cross_entropy.py).
//
// One thread block (256 threads) per row of C logits: a shared-memory tree reduction for the row
// max m (fmax skips NaN; a NaN still reaches the sum, as on the CPU), then for s = sum exp(x - m)
// in double; then loss = -w (x_t - m - log s) (0 for rows that do not count) and
// dlogits = w (exp(x - m) / s - onehot(t)).

#define CE_THREADS 256

template <typename T>
__device__ void ce_rows(const T* logits, const long long* target, const unsigned char* valid, const T* row_weight,
                        int c, T* losses, T* dlogits) {
    __shared__ double partial[CE_THREADS];
    int tid = threadIdx.x;
    long long base = (long long)blockIdx.x * c;
    const T* row = logits + base;
    T m = row[0];
    for (int j = tid; j < c; j += blockDim.x) m = fmax(m, row[j]);
    partial[tid] = (double)m;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] = fmax(partial[tid], partial[tid + s]);
        __syncthreads();
    }
    m = (T)partial[0];
    __syncthreads();
    double acc = 0.0;
    for (int j = tid; j < c; j += blockDim.x) acc += (double)exp(row[j] - m);
    partial[tid] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] += partial[tid + s];
        __syncthreads();
    }
    T total = (T)partial[0];
    long long t = target[blockIdx.x];
    T w = row_weight[blockIdx.x];
    if (tid == 0) losses[blockIdx.x] = valid[blockIdx.x] ? -w * ((row[t] - m) - log(total)) : (T)0;
    for (int j = tid; j < c; j += blockDim.x) {
        T p = exp(row[j] - m) / total;
        dlogits[base + j] = (j == t ? p - (T)1 : p) * w;
    }
}

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define CE_PARAMS(T) const T* logits, const long long* target, const unsigned char* valid, \
                     const T* row_weight, int c, T* losses, T* dlogits
#define CE_BODY(T) { ce_rows<T>(logits, target, valid, row_weight, c, losses, dlogits); }

extern "C" __global__ void softmax_cross_entropy_f32(CE_PARAMS(float)) CE_BODY(float)
extern "C" __global__ void softmax_cross_entropy_f64(CE_PARAMS(double)) CE_BODY(double)
