// Special functions of the Student-t sign law (papers.md 4.2, 7.3, 8.5).
//
// For T ~ t_nu (nu > 0 degrees of freedom, density f_nu, CDF F_nu):
//
//   Xi_nu(y)   = F_nu(y) - 1/2                                            [papers.md 4.2, STD]
//              = y Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2)) 2F1(1/2, (nu+1)/2; 3/2; -y^2/nu)
//   Xi_nu'(y)  = f_nu(y) = Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2)) (1 + y^2/nu)^(-(nu+1)/2)
//   ell_nu     = 2 Xi_nu'(0) = 2 Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2))   [4.2, DERIVED]
//   M_nu       = sup_y 2 |y| f_nu(y) = 2 f_nu(1)                            [8.5, GUESS]
//
// With scale s, E sign(g + s T) = 2 Xi_nu(g/s): this is the drift of the DSignSGD SDE (poster
// Thm 2) and 1 - 4 Xi_nu^2 its diffusion. nu = +infinity is the Gaussian limit:
//   Xi_inf(y) = erf(y/sqrt 2)/2,   f_inf = standard normal density,   ell_inf = sqrt(2/pi).
//
// Numerics (Boost.Math). For y >= 0, with the regularized incomplete beta I_x(a, b),
//   Xi_nu(y) = 1/2 - 1/2 I_{nu/(nu+y^2)}(nu/2, 1/2) = 1/2 I_{y^2/(nu+y^2)}(1/2, nu/2),
// and Xi is odd. Each branch evaluates the incomplete beta at its small argument (x <= 1/2):
// small |y| through ibeta(1/2, nu/2, y^2/(nu+y^2)) (no cancellation near 0, full relative
// accuracy), large |y| as 1/2 - ibeta(nu/2, 1/2, nu/(nu+y^2))/2 (the tail 1/2 - Xi to full
// relative accuracy, so Xi near +-1/2 to double rounding; Boost's ibetac is not accurate there).
// Below |y| = 1e-8 sqrt(min(nu, 1)), where y^2 may underflow, Xi = f_nu(0) y exactly to double
// precision. Boost's ibeta stays accurate for huge nu (against 40-digit mpmath up to nu = 1e12,
// against the Gaussian limit up to 1e300); from nu = 1e17 on, the Gaussian limit erf(y/sqrt 2)/2
// is used, whose error O(1/nu) is below double rounding there. ell_nu uses Boost's
// tgamma_delta_ratio (Gamma(a)/Gamma(a + 1/2)), which unlike a difference of lgamma keeps full
// accuracy for large nu.
//
// Preconditions: nu > 0 (nu = +inf allowed; checked by DCSDE_ASSERT, a programmer error).
// A NaN argument y gives NaN; +-inf gives +-1/2 (density 0).
#pragma once

#include <Eigen/Core>
#include <limits>

namespace dcsde {

// nu of the Gaussian limit of the Student-t family.
inline constexpr double kGaussianNu = std::numeric_limits<double>::infinity();

// Xi_nu(y) = F_nu(y) - 1/2, in (-1/2, 1/2), odd and increasing in y.
double xi_nu(double y, double nu);

// Xi_nu'(y) = f_nu(y), the Student-t density (for Jacobians of the DSignSGD drift).
double xi_nu_derivative(double y, double nu);

// ell_nu = 2 Xi_nu'(0) = 2 f_nu(0): 2/pi at nu = 1, increasing to sqrt(2/pi) at nu = inf.
double ell_nu(double nu);

// M_nu = sup_y 2|y| f_nu(y)                                          [papers.md 8.5, GUESS]
// The appendix constant of paper 2's Thm 4.3 was not recoverable; papers.md guesses this
// supremum. It has a closed form: d/dy [y (1 + y^2/nu)^(-(nu+1)/2)]
//   = (1 + y^2/nu)^(-(nu+3)/2) (1 + y^2/nu - y^2 (nu+1)/nu) = (1 + y^2/nu)^(-(nu+3)/2) (1 - y^2),
// so the maximizer is y* = 1 for every nu and M_nu = 2 f_nu(1) = ell_nu (1 + 1/nu)^(-(nu+1)/2).
// Values: nu = 1: 1/pi = 0.3183; nu = 2: 0.3849; Gaussian: sqrt(2/pi) e^(-1/2) = 0.4839.
double m_nu(double nu);

// Var t_nu = nu/(nu - 2) for nu > 2 (1 for nu = inf); +inf for nu <= 2 (no finite variance).
double student_t_variance(double nu);

// Vectorized forms: out(j) = xi_nu(y(j), nu), out(j) = xi_nu_derivative(y(j), nu). The nu-only
// constants are computed once per call. out must have the size of y; it may alias y.
void xi_nu(const Eigen::Ref<const Eigen::ArrayXd>& y, double nu, Eigen::Ref<Eigen::ArrayXd> out);
void xi_nu_derivative(const Eigen::Ref<const Eigen::ArrayXd>& y, double nu,
                      Eigen::Ref<Eigen::ArrayXd> out);

}  // namespace dcsde
