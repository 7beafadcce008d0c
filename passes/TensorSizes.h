//===- TensorSizes.h - mixed static/dynamic sizes for slicing ---*- C++ -*-===//
//
// A helper the rwkv-level tiling passes share when they build
// tensor.extract_slice / insert_slice / empty ops.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_TENSORSIZES_H
#define RWKV_PASSES_TENSORSIZES_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir {
namespace rwkv {

/// The sizes of `type` as OpFoldResults, with dimension `dim` replaced by
/// `size`: static dimensions as attributes, dynamic ones read from `like`
/// (a tensor with the same dynamic dimensions) with tensor.dim.
inline SmallVector<OpFoldResult> sizesWith(OpBuilder &b, Location loc,
                                           RankedTensorType type, Value like,
                                           unsigned dim, OpFoldResult size) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == dim)
      sizes.push_back(size);
    else if (type.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, loc, like, d).getResult());
    else
      sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
  }
  return sizes;
}

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_TENSORSIZES_H
