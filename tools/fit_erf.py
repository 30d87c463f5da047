#!/usr/bin/env python3
"""Fits the polynomials of Backprop's vector erf (Sources/BackpropCore/Kernels/VectorMath.swift).

erf(u) = u * P(u^2)               for |u| < 1
erf(u) = 1 - exp(-u^2) * Q(z)     for 1 <= |u| <= 4, z = (u - 2.5) * 2/3

P fits erf(u)/u and Q fits erfc(u) * exp(u^2), each by least squares weighted
for relative error on Chebyshev points, against mpmath at 30 digits. Prints the
coefficients (lowest degree first, as single-precision values) and the worst
error of the single-precision evaluation in ulp (with a correctly rounded exp).

Needs numpy and mpmath: tools/.venv-compare has both (tools/compare makes it).
"""
import mpmath
import numpy as np

mpmath.mp.dps = 30
DEGREE_P, DEGREE_Q = 5, 10


def fit_p():
    t = (np.cos(np.linspace(0, np.pi, 4000)) + 1) / 2
    u = np.sqrt(t)
    f = np.array([float(mpmath.erf(x) / x) if x > 0 else float(2 / mpmath.sqrt(mpmath.pi)) for x in u])
    vander = np.vander(t, DEGREE_P + 1, increasing=True)
    return np.linalg.lstsq(vander / f[:, None], np.ones_like(f), rcond=None)[0]


def fit_q():
    z = np.cos(np.linspace(0, np.pi, 4000))
    u = 2.5 + 1.5 * z
    f = np.array([float(mpmath.erfc(x) * mpmath.exp(mpmath.mpf(x) ** 2)) for x in u])
    vander = np.vander(z, DEGREE_Q + 1, increasing=True)
    return np.linalg.lstsq(vander / f[:, None], np.ones_like(f), rcond=None)[0]


def horner(coefficients, x):
    result = np.float32(coefficients[-1])
    for c in coefficients[-2::-1]:
        result = np.float32(result * x + c)
    return result


def single_erf(p, q, u):
    u = np.float32(u)
    if u < 1:
        return np.float32(u * horner(p, np.float32(u * u)))
    z = np.float32((min(u, np.float32(4)) - np.float32(2.5)) * np.float32(2 / 3))
    gaussian = np.float32(np.exp(-np.float64(np.float32(u * u))))
    return np.float32(1 - gaussian * horner(q, z))


def main():
    p = [np.float32(c) for c in fit_p()]
    q = [np.float32(c) for c in fit_q()]
    print("P:", ", ".join(repr(float(c)) for c in p))
    print("Q:", ", ".join(repr(float(c)) for c in q))
    worst = 0.0
    for u in np.linspace(0, 4, 20001, dtype=np.float32)[1:]:
        exact = mpmath.erf(mpmath.mpf(float(u)))
        error = abs(float(single_erf(p, q, u)) - float(exact)) / float(np.spacing(np.float32(float(exact))))
        worst = max(worst, error)
    print(f"worst error of the single-precision evaluation on (0, 4]: {worst:.2f} ulp")


if __name__ == "__main__":
    main()
