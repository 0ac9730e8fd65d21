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

extern "C" __global__ void max_pool2d_backward_f32(const float* g, const int* arg, float* dx,
                                                   long long total, int h, int w, int oh, int ow,
                                                   int kw, int sh, int sw, int top, int left, int dh,
                                                   int dw) {
    max_pool2d_backward<float>(g, arg, dx, total, h, w, oh, ow, kw, sh, sw, top, left, dh, dw);
}

extern "C" __global__ void max_pool2d_backward_f64(const double* g, const int* arg, double* dx,
                                                   long long total, int h, int w, int oh, int ow,
                                                   int kw, int sh, int sw, int top, int left, int dh,
                                                   int dw) {
    max_pool2d_backward<double>(g, arg, dx, total, h, w, oh, ow, kw, sh, sw, top, left, dh, dw);
}
