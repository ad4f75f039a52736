"""Exact second moments of DSGD / DCSGD and of their SDE on a diagonal quadratic (papers.md 9).

f = 1/2 sum_j h_j x_j^2; agent i sees g_i = h o x + s z_i (s = sigma / sqrt(B), z ~ N(0, I)) and
sends C(g_i) with an unbiased compressor whose covariance diagonal is omega v_j^2 (identity:
omega = 0; rand-k: d/k - 1; Bernoulli(p): 1/p - 1). Then m_j = E x_j^2 obeys closed linear
recursions (tests/method/stationary_test.cpp):
  optimizer:  m' = ((1 - eta h)^2 + eta^2 omega h^2 / N) m + eta^2 (1 + omega) s^2 / N;
  Thm 1 SDE, dX = -grad f dt + sqrt(eta) Sigma_D^{1/2} dW, Sigma_D's diagonal
  (omega h^2 x^2 + (1 + omega) s^2) / N, integrated by Euler-Maruyama with dt = eta / m:
              m' = ((1 - dt h)^2 + dt eta omega h^2 / N) m + dt eta (1 + omega) s^2 / N per substep;
  and the continuous SDE: dm/dt = -(2 h - eta omega h^2 / N) m + eta (1 + omega) s^2 / N.
The off-diagonal part of rand-k's covariance does not enter E x_j^2 (the drift is diagonal), so
E f = 1/2 sum_j h_j m_j is exact for these compressors, at every step.
"""
import numpy as np

# Compressors whose covariance diagonal is omega v_j^2 (so the recursions above are exact).
EXACT_COMPRESSORS = ("identity", "rand_k", "bernoulli")


def spectrum(problem):
    """The eigenvalues of a resolved [problem] of objective quadratic (src/objective/quadratic.cpp)."""
    if problem.get("eigenvalues"):
        return np.array(problem["eigenvalues"], float)
    d, lo, hi = int(problem["dim"]), float(problem["eigen_min"]), float(problem["eigen_max"])
    t = np.arange(d) / (d - 1) if d > 1 else np.zeros(1)
    h = lo * np.exp(t * (np.log(hi) - np.log(lo)))
    h[-1] = hi
    return h


def omega_of(config):
    """omega of a resolved config's compressor when the recursions are exact for it, else None."""
    method, c = config["method"]["kind"], config["compressor"]
    if method == "dsgd" or (method == "dcsgd" and c["kind"] == "identity"):
        return 0.0
    if method != "dcsgd":
        return None
    if c["kind"] == "rand_k":
        return int(config["problem"]["dim"]) / int(c["k"]) - 1.0
    if c["kind"] == "bernoulli":
        return 1.0 / float(c["p"]) - 1.0
    return None


def exact_setting(config):
    """(h, x0^2 per coordinate, eta, s^2, omega, N) of a resolved config, or None where the
    recursions are not exact (another objective, method, compressor or noise; a schedule)."""
    p, n, m = config["problem"], config["noise"], config["method"]
    if p["objective"] != "quadratic" or m.get("schedule", "constant") != "constant":
        return None
    omega = omega_of(config)
    if omega is None or n["kind"] not in ("gaussian", "none"):
        return None
    sigma = np.atleast_1d(np.asarray(n.get("sigma", 1.0), float))  # resolved: one or per agent
    if np.any(sigma != sigma[0]) or n.get("coordinate_scale"):
        return None
    h = spectrum(p)
    x0 = np.broadcast_to(np.atleast_1d(np.asarray(p.get("x0", 1.0), float)), h.shape) ** 2
    s2 = 0.0 if n["kind"] == "none" else float(sigma[0]) ** 2 / int(n.get("batch", 1))
    return h, x0, float(m["lr"]), s2, omega, int(config["agents"]["count"])


def optimizer_loss(setting, steps):
    """E f(x_k), k = 0..steps, of DSGD / DCSGD."""
    h, m, eta, s2, omega, n = setting
    a = (1 - eta * h) ** 2 + eta ** 2 * omega * h ** 2 / n
    c = eta ** 2 * (1 + omega) * s2 / n
    out = np.empty(steps + 1)
    for k in range(steps + 1):
        out[k] = 0.5 * np.dot(h, m)
        m = a * m + c
    return out


def em_sde_loss(setting, steps, substeps):
    """E f(X) after k optimizer steps (k * substeps Euler-Maruyama substeps) of the Thm 1 SDE."""
    h, m, eta, s2, omega, n = setting
    dt = eta / substeps
    a = (1 - dt * h) ** 2 + dt * eta * omega * h ** 2 / n
    c = dt * eta * (1 + omega) * s2 / n
    out = np.empty(steps + 1)
    for k in range(steps + 1):
        out[k] = 0.5 * np.dot(h, m)
        for _ in range(substeps):
            m = a * m + c
    return out


def sde_loss(setting, times):
    """E f(X_t) of the continuous Thm 1 SDE at the given times."""
    h, m0, eta, s2, omega, n = setting
    rate = 2 * h - eta * omega * h ** 2 / n
    m_inf = eta * (1 + omega) * s2 / n / rate
    t = np.asarray(times, float)[:, None]
    return 0.5 * ((m_inf + (m0 - m_inf) * np.exp(-rate * t)) @ h)


def stationary_level(setting):
    """lim E f(x_k) of the optimizer (inf where the second moment is unstable)."""
    h, _, eta, s2, omega, n = setting
    a = (1 - eta * h) ** 2 + eta ** 2 * omega * h ** 2 / n
    if np.any(a >= 1):
        return np.inf
    return float(0.5 * np.dot(h, eta ** 2 * (1 + omega) * s2 / n / (1 - a)))
