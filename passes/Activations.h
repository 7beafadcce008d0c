//===- Activations.h - scalar bodies of the generic activations -*- C++ -*-===//
//
// The activations variants are made of beyond RWKV's own (tanh, σ, relu²),
// as scalar f32 arithmetic shared by the CPU lowering (inside linalg bodies,
// vectorized later) and the GPU kernels. Only exp and log are transcendental
// (rwkv-approximate-math keeps them vectorized); erf is Abramowitz & Stegun
// 7.1.26 (|error| < 1.5e-7), so gelu matches torch's exact (erf) form to f32
// precision.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_ACTIVATIONS_H
#define RWKV_PASSES_ACTIVATIONS_H

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace rwkv {

/// f(x) for the activations that are not RWKV's own; null for the others.
inline Value genericActivation(OpBuilder &b, Location loc, Activation act,
                               Value x) {
  Type t = x.getType();
  auto c = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, v));
  };
  auto add = [&](Value p, Value q) -> Value {
    return arith::AddFOp::create(b, loc, p, q);
  };
  auto mul = [&](Value p, Value q) -> Value {
    return arith::MulFOp::create(b, loc, p, q);
  };
  auto sigmoid = [&](Value v) -> Value {
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
    return arith::DivFOp::create(b, loc, c(1.0), add(c(1.0), e));
  };
  // softplus(x) = max(x, 0) + log(1 + exp(-|x|)): no overflow for large |x|.
  auto softplus = [&](Value v) -> Value {
    Value relu = arith::MaximumFOp::create(b, loc, v, c(0.0));
    Value absV = math::AbsFOp::create(b, loc, v);
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, absV));
    return add(relu, math::LogOp::create(b, loc, add(c(1.0), e)));
  };
  switch (act) {
  case Activation::Relu:
    return arith::MaximumFOp::create(b, loc, x, c(0.0));
  case Activation::Silu:
    return mul(x, sigmoid(x));
  case Activation::Softplus:
    return softplus(x);
  case Activation::Mish:
    return mul(x, math::TanhOp::create(b, loc, softplus(x)));
  case Activation::Exp:
    return math::ExpOp::create(b, loc, x);
  case Activation::Gelu: {
    // 0.5 x (1 + erf(x / sqrt 2)).
    Value z = mul(x, c(0.70710678118654752));
    Value az = math::AbsFOp::create(b, loc, z);
    Value tt = arith::DivFOp::create(b, loc, c(1.0),
                                     add(c(1.0), mul(c(0.3275911), az)));
    Value poly = c(1.061405429);
    for (double k : {-1.453152027, 1.421413741, -0.284496736, 0.254829592})
      poly = add(mul(poly, tt), c(k));
    poly = mul(poly, tt);
    Value e =
        math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, mul(az, az)));
    Value erfAbs = arith::SubFOp::create(b, loc, c(1.0), mul(poly, e));
    Value erf = math::CopySignOp::create(b, loc, erfAbs, z);
    return mul(mul(c(0.5), x), add(c(1.0), erf));
  }
  default:
    return Value();
  }
}

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_ACTIVATIONS_H
