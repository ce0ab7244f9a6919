#!/usr/bin/python3
"""dpsgd_rdp.py - an independent Renyi-DP accountant for the Poisson-
subsampled Gaussian mechanism (DP-SGD), written from Mironov, Talwar and
Zhang 2019 ("Renyi Differential Privacy of the Sampled Gaussian Mechanism",
section 3.3) with the standard library only, to check ledger/budget.c's.
    /usr/bin/python3 dpsgd_rdp.py Q SIGMA ALPHA   prints one step's RDP at ALPHA
A_alpha = E_{z~mu0}[(mu(z)/mu0(z))^alpha] with mu = (1-q) mu0 + q mu1; RDP =
log(A_alpha)/(alpha-1).  Integer alpha: the binomial expansion.  Fractional
alpha: A = sum_i binom(alpha,i) [ (1-q)^(alpha-i) q^i e^((i^2-i)/2s^2) P(z<=z0 side)
+ q^(alpha-i) (1-q)^i e^(((alpha-i)^2-(alpha-i))/2s^2) P(other side) ], with
z0 = s^2 log(1/q - 1) + 1/2; each term in logs (erfc by its asymptotic series
where it would underflow), summed with math.fsum until the terms fall below
e^-30."""
import math
import sys


def log_binom(alpha, i):
    """log |binom(alpha, i)| and its sign, for real alpha."""
    lg, sign = 0.0, 1
    for k in range(i):
        f = (alpha - k) / (k + 1)
        lg += math.log(abs(f))
        sign = -sign if f < 0 else sign
    return lg, sign


def log_half_erfc(x):
    """log(erfc(x) / 2); past x = 20 (where erfc nears underflow, while the
    series multiplies it by e^(i^2/2s^2)) the asymptotic expansion
    erfc(x) ~ e^(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6))."""
    if x < 20:
        return math.log(0.5 * math.erfc(x))
    x2 = x * x
    return (-x2 - math.log(x * math.sqrt(math.pi)) + math.log(1 - 1 / (2 * x2) + 3 / (4 * x2 * x2)
            - 15 / (8 * x2 ** 3)) - math.log(2))


def rdp(q, s, alpha):
    if alpha == int(alpha):
        terms = [(1, log_binom(alpha, k)[0] + (alpha - k) * math.log(1 - q) + k * math.log(q)
                  + (k * k - k) / (2 * s * s)) for k in range(int(alpha) + 1)]
    else:
        z0 = s * s * math.log(1 / q - 1) + 0.5
        terms = []
        i = 0
        while True:
            lc, sign = log_binom(alpha, i)
            j = alpha - i
            l0 = lc + i * math.log(q) + j * math.log(1 - q) + (i * i - i) / (2 * s * s) + \
                log_half_erfc((i - z0) / (math.sqrt(2) * s))
            l1 = lc + j * math.log(q) + i * math.log(1 - q) + (j * j - j) / (2 * s * s) + \
                log_half_erfc((z0 - j) / (math.sqrt(2) * s))
            terms += [(sign, l0), (sign, l1)]
            i += 1
            if max(l0, l1) < -30:  # the terms left are below 1e-13 and falling
                break
    top = max(t for _, t in terms)
    total = math.fsum(sg * math.exp(t - top) for sg, t in terms if t > -math.inf)
    return (top + math.log(total)) / (alpha - 1)


if __name__ == "__main__":
    q, s, alpha = (float(x) for x in sys.argv[1:4])
    print("%.17g" % rdp(q, s, alpha))
