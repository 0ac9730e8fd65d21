// conv2d_col2im: dL/dx from the channel-major column gradients, one thread per input pixel.
// dcols is (C*kh*kw, N*OH*OW) contiguous, entry [(c, i, j), (n, p, q)]; it was copied from input pixel
// (n, c, p*sh - top + i*dh, q*sw - left + j*dw).  Each thread *gathers* the entries copied from its
// pixel (r, col): the taps (i, j) whose p = (r + top - i*dh) / sh and q = (col + left - j*dw) / sw are
// whole numbers in range.  No two threads write the same pixel, so no atomics; the sum runs over
// (i, j) in the same order as the numba tier's adds.  dx: (N, C, H, W); total = N*C*H*W.

template <typename T>
__device__ void conv2d_col2im(const T* dcols, T* dx, long long total, int n_images, int channels, int h,
                              int w, int oh, int ow, int kh, int kw, int sh, int sw, int top, int left,
                              int dh, int dw) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= total) return;
    int col = (int)(k % w);
    int r = (int)((k / w) % h);
    int c = (int)((k / ((long long)w * h)) % channels);
    int n = (int)(k / ((long long)w * h * channels));
    long long row_len = (long long)n_images * oh * ow;     // one row of dcols: every (n, p, q)
    T total_grad = 0;
    for (int i = 0; i < kh; ++i) {
        int dp = r + top - i * dh;
        if (dp < 0 || dp % sh != 0 || dp / sh >= oh) continue;
        int p = dp / sh;
        for (int j = 0; j < kw; ++j) {
            int dq = col + left - j * dw;
            if (dq < 0 || dq % sw != 0 || dq / sw >= ow) continue;
            int q = dq / sw;
            long long tap_row = ((long long)c * kh + i) * kw + j;
            total_grad += dcols[tap_row * row_len + ((long long)n * oh + p) * ow + q];
        }
    }
    dx[k] = total_grad;
}

// The float and double entry points: the parameter list and the body are written once, as macros of
// the element type T, and instantiated twice (the exported names are spelt out: Python calls them).
#define COL2IM_PARAMS(T) const T* dcols, T* dx, long long total, int n_images, int channels, int h, int w, \
                         int oh, int ow, int kh, int kw, int sh, int sw, int top, int left, int dh, int dw
#define COL2IM_BODY(T) { \
    conv2d_col2im<T>(dcols, dx, total, n_images, channels, h, w, oh, ow, kh, kw, sh, sw, top, left, dh, dw); \
}

extern "C" __global__ void conv2d_col2im_f32(COL2IM_PARAMS(float)) COL2IM_BODY(float)
extern "C" __global__ void conv2d_col2im_f64(COL2IM_PARAMS(double)) COL2IM_BODY(double)
