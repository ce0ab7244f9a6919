/* loss.c - numerically stable losses (see loss.h). */
#include "node/nn/loss.h"

#include <assert.h>
#include <math.h>
#include <string.h>

double loss_bce_logits(const float *z, const float *t, int n, int k, float *grad)
{
    assert(n > 0 && k > 0);
    double sum = 0;
    const size_t e = (size_t)n * k;
    for (size_t i = 0; i < e; i++) {
        double v = z[i];
        sum += (v > 0 ? v : 0) - v * (double)t[i] + log1p(exp(-fabs(v)));
        if (grad) {
            double s = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
            grad[i] = (float)((s - (double)t[i]) / n);
        }
    }
    return sum / n;
}

double loss_hinge_d(const float *z, const float *t, int n, float *grad)
{
    assert(n > 0);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        // real: max(0, 1 - z); fake: max(0, 1 + z), i.e. max(0, 1 - s z)
        const double s = t[i] > 0.5f ? 1.0 : -1.0, m = 1.0 - s * (double)z[i];
        sum += m > 0 ? m : 0;
        if (grad) {
            grad[i] = m > 0 ? (float)(-s / n) : 0.0f;
        }
    }
    return sum / n;
}

double loss_hinge_g(const float *z, int n, float *grad)
{
    assert(n > 0);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum -= (double)z[i];
        if (grad) {
            grad[i] = (float)(-1.0 / n);
        }
    }
    return sum / n;
}

double loss_mse(const float *y, const float *t, int n, int k, float *grad)
{
    assert(n > 0 && k > 0);
    double sum = 0;
    const size_t e = (size_t)n * k;
    for (size_t i = 0; i < e; i++) {
        double d = (double)y[i] - (double)t[i];
        sum += d * d;
        if (grad) {
            grad[i] = (float)(2.0 * d / n);
        }
    }
    return sum / n;
}

double loss_kl_normal(const float *mu, const float *logvar, int n, int d,
                      float *grad_mu, float *grad_logvar)
{
    assert(n > 0 && d > 0);
    double sum = 0;
    const size_t e = (size_t)n * d;
    for (size_t i = 0; i < e; i++) {
        double m = mu[i], lv = logvar[i];
        sum += -0.5 * (1.0 + lv - m * m - exp(lv));
        if (grad_mu) {
            grad_mu[i] = (float)(m / n);
        }
        if (grad_logvar) {
            grad_logvar[i] = (float)(0.5 * (exp(lv) - 1.0) / n);
        }
    }
    return sum / n;
}

double loss_softmax_xent(const float *logits, const uint8_t *labels, int n, int k,
                         float *grad)
{
    assert(n > 0 && k > 0);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        assert(labels[i] < k);
        double mx = z[0];
        for (int j = 1; j < k; j++) {
            mx = (double)z[j] > mx ? (double)z[j] : mx;
        }
        double denom = 0;
        for (int j = 0; j < k; j++) {
            denom += exp((double)z[j] - mx);
        }
        double log_denom = log(denom) + mx;
        sum += log_denom - (double)z[labels[i]];
        if (grad) {
            for (int j = 0; j < k; j++) {
                double p = exp((double)z[j] - log_denom);
                grad[(size_t)i * k + j] = (float)((p - (j == labels[i])) / n);
            }
        }
    }
    return sum / n;
}

double loss_mode_seeking(const float *x, const float *z, int n, int k, int d, float *grad)
{
    const int pairs = n / 2;
    double a = 0.0, b = 0.0;
    for (int j = 0; j < pairs; j++) {
        const float *x1 = x + (size_t)2 * j * k, *x2 = x1 + k;
        const float *z1 = z + (size_t)2 * j * d, *z2 = z1 + d;
        for (int i = 0; i < k; i++) {
            a += fabs((double)x1[i] - (double)x2[i]);
        }
        for (int i = 0; i < d; i++) {
            b += fabs((double)z1[i] - (double)z2[i]);
        }
    }
    if (grad) {
        memset(grad, 0, sizeof(float) * (size_t)n * (size_t)k);
    }
    if (pairs == 0 || b <= 0.0) {
        return 0.0;
    }
    const double npix = (double)pairs * k;
    a /= npix;
    b /= (double)pairs * d;
    const double lz = a / b + 1e-5;
    // d(1 / lz)/dx1 = -sign(x1 - x2) / (lz^2 b npix); x2 the opposite
    const float g = (float)(1.0 / (lz * lz * b * npix));
    for (int j = 0; grad && j < pairs; j++) {
        const float *x1 = x + (size_t)2 * j * k, *x2 = x1 + k;
        float *g1 = grad + (size_t)2 * j * k, *g2 = g1 + k;
        for (int i = 0; i < k; i++) {
            const float s = x1[i] > x2[i] ? g : x1[i] < x2[i] ? -g : 0.0f;
            g1[i] = -s;
            g2[i] = s;
        }
    }
    return 1.0 / lz;
}
