// max_pool2d_forward: each window's maximum and the tap i*kw + j that won, one thread per output.
// The rules of the reference (tinygrad_edu/nn/pooling.py) and of the numba tier: the running maximum
// starts at -inf pointing at the window's first in-image tap; a tap replaces it when strictly
// greater (the first maximum wins a tie) or NaN (a NaN wins).  Taps in the padding are skipped.
// x: (N, C, H, W) contiguous; y, arg: (N, C, OH, OW); total = N*C*OH*OW.

template <typename T>
__device__ void max_pool2d_forward(const T* x, T* y, int* arg, long long total, int h, int w, int oh,
                                   int ow, int kh, int kw, int sh, int sw, int top, int left, int dh,
                                   int dw, T minus_inf) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= total) return;
    int q = (int)(k % ow);
    int p = (int)((k / ow) % oh);
    const T* plane = x + (k / ((long long)oh * ow)) * ((long long)h * w);
    int r0 = p * sh - top, c0 = q * sw - left;
    int i0 = r0 >= 0 ? 0 : (-r0 + dh - 1) / dh;
    int j0 = c0 >= 0 ? 0 : (-c0 + dw - 1) / dw;
    T best = minus_inf;
    int won = i0 * kw + j0;
    for (int i = i0; i < kh; ++i) {
        int r = r0 + i * dh;
        if (r >= h) break;
        for (int j = j0; j < kw; ++j) {
            int col = c0 + j * dw;
            if (col >= w) break;
            T v = plane[(long long)r * w + col];
            if (v > best || v != v) {
                best = v;
                won = i * kw + j;
            }
        }
    }
    y[k] = best;
    arg[k] = won;
}

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define POOL_FORWARD_PARAMS(T) const T* x, T* y, int* arg, long long total, int h, int w, int oh, int ow, \
                               int kh, int kw, int sh, int sw, int top, int left, int dh, int dw
#define POOL_FORWARD_BODY(T, MINUS_INF) { \
    max_pool2d_forward<T>(x, y, arg, total, h, w, oh, ow, kh, kw, sh, sw, top, left, dh, dw, MINUS_INF); \
}

extern "C" __global__ void max_pool2d_forward_f32(POOL_FORWARD_PARAMS(float))
    POOL_FORWARD_BODY(float, -__int_as_float(0x7f800000))
extern "C" __global__ void max_pool2d_forward_f64(POOL_FORWARD_PARAMS(double))
    POOL_FORWARD_BODY(double, -__longlong_as_double(0x7ff0000000000000LL))
