// max_pool2d_backward: dL/dx[winner of window (n, c, p, q)] += g[n, c, p, q], one thread per window.
// Windows may overlap (stride < kernel), so the add is an atomicAdd; a winner in the padding (a
// window made only of padding) is dropped.  g, arg: (N, C, OH, OW) contiguous; dx: (N, C, H, W),
// zeroed by the caller; total = N*C*OH*OW.  (double atomicAdd needs compute capability >= 6.0.)

template <typename T>
__device__ void max_pool2d_backward(const T* g, const int* arg, T* dx, long long total, int h, int w,
                                    int oh, int ow, int kw, int sh, int sw, int top, int left, int dh,
                                    int dw) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= total) return;
    int q = (int)(k % ow);
    int p = (int)((k / ow) % oh);
    long long plane = k / ((long long)oh * ow);
    int tap = arg[k];
    int r = p * sh - top + (tap / kw) * dh;
    int col = q * sw - left + (tap % kw) * dw;
    if (r >= 0 && r < h && col >= 0 && col < w) {
        atomicAdd(dx + plane * ((long long)h * w) + (long long)r * w + col, g[k]);
    }
}

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define POOL_BACKWARD_PARAMS(T) const T* g, const int* arg, T* dx, long long total, int h, int w, int oh, \
                                int ow, int kw, int sh, int sw, int top, int left, int dh, int dw
#define POOL_BACKWARD_BODY(T) { \
    max_pool2d_backward<T>(g, arg, dx, total, h, w, oh, ow, kw, sh, sw, top, left, dh, dw); \
}

extern "C" __global__ void max_pool2d_backward_f32(POOL_BACKWARD_PARAMS(float)) POOL_BACKWARD_BODY(float)
extern "C" __global__ void max_pool2d_backward_f64(POOL_BACKWARD_PARAMS(double)) POOL_BACKWARD_BODY(double)
