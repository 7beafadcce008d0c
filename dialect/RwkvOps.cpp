//===- RwkvOps.cpp - rwkv op verifiers ------------------------------------===//
//
// Shape checks for the rwkv ops. Every message names the operand, the
// dimension and the value that was expected, so a user reading an error from
// an imported spec can map it back to the tensor at fault.
//
//===----------------------------------------------------------------------===//

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// True when two sizes can describe the same dimension (either is dynamic).
bool sameDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// Checks that `value` is a tensor of the given rank; `layout` names the
/// dimensions ("[B, T, C]") for the message.
LogicalResult checkRank(Operation *op, Value value, StringRef name,
                        int64_t rank, StringRef layout) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == rank)
    return success();
  return op->emitOpError() << "expects '" << name << "' of rank " << rank << " "
                           << layout << ", got " << type;
}

/// Checks dimension `dim` of `value` against `expected` (skipped when either
/// is dynamic). `what` explains where the expectation comes from.
LogicalResult checkDim(Operation *op, Value value, StringRef name, unsigned dim,
                       int64_t expected, StringRef what) {
  int64_t actual = cast<RankedTensorType>(value.getType()).getDimSize(dim);
  if (sameDim(actual, expected))
    return success();
  return op->emitOpError() << "expects dimension " << dim << " of '" << name
                           << "' to be " << dimStr(expected) << " (" << what
                           << "), got " << dimStr(actual);
}

int64_t dimOf(Value value, unsigned dim) {
  return cast<RankedTensorType>(value.getType()).getDimSize(dim);
}

/// Checks a per-channel parameter vector `[C]`.
LogicalResult checkChannelVector(Operation *op, Value value, StringRef name,
                                 int64_t channels) {
  if (failed(checkRank(op, value, name, 1, "[C]")))
    return failure();
  return checkDim(op, value, name, 0, channels, "the channel count C");
}

/// Checks that `divisor` splits `channels` evenly (when `channels` is static).
LogicalResult checkDivides(Operation *op, StringRef attrName, int64_t divisor,
                           int64_t channels, StringRef what) {
  if (divisor <= 0)
    return op->emitOpError()
           << "expects '" << attrName << "' to be positive, got " << divisor;
  if (!ShapedType::isDynamic(channels) && channels % divisor != 0)
    return op->emitOpError()
           << "expects '" << attrName << "' (" << divisor
           << ") to divide the channel count " << channels << " into " << what;
  return success();
}

/// Checks a token-shift input `input` ([B, T, C]) and its state `prev`
/// ([B, C]).
LogicalResult checkShiftState(Operation *op, Value input, Value prev) {
  if (failed(checkRank(op, input, "input", 3, "[B, T, C]")) ||
      failed(checkRank(op, prev, "prev", 2, "[B, C]")) ||
      failed(checkDim(op, prev, "prev", 0, dimOf(input, 0),
                      "the batch size of 'input'")))
    return failure();
  return checkDim(op, prev, "prev", 1, dimOf(input, 2),
                  "the channel count of 'input'");
}

/// Checks `r` ([B, T, C]) against a per-head matrix state `state`
/// ([B, H, N, N], static H and N, C = H * N); returns {H, N}.
FailureOr<std::pair<int64_t, int64_t>> checkHeadState(Operation *op, Value r,
                                                      Value state) {
  if (failed(checkRank(op, r, "r", 3, "[B, T, C]")) ||
      failed(checkRank(op, state, "state", 4, "[B, H, N, N]")) ||
      failed(checkDim(op, state, "state", 0, dimOf(r, 0),
                      "the batch size of 'r'")) ||
      failed(checkDim(op, state, "state", 3, dimOf(state, 2),
                      "a square N x N state per head")))
    return failure();
  int64_t heads = dimOf(state, 1), headSize = dimOf(state, 2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(headSize))
    return op->emitOpError() << "expects static head count and head size in "
                                "'state', got "
                             << state.getType();
  if (failed(checkDim(op, r, "r", 2, heads * headSize, "H * N from 'state'")))
    return failure();
  return std::make_pair(heads, headSize);
}

/// Checks that `result` is `[B, T, outChannels]` with B and T from `input`.
LogicalResult checkRowResult(Operation *op, Value input, Value result,
                             int64_t outChannels, StringRef what) {
  if (failed(checkRank(op, result, "result", 3, "[B, T, C]")) ||
      failed(checkDim(op, result, "result", 0, dimOf(input, 0),
                      "the batch size of the input")) ||
      failed(checkDim(op, result, "result", 1, dimOf(input, 1),
                      "the token count of the input")))
    return failure();
  return checkDim(op, result, "result", 2, outChannels, what);
}

/// Checks a projection weight `name`: a float `[out, in]` matrix (`layout`
/// names its dimensions) or Q8_0 blocks `[out, in/32, 34]` i8, whose input
/// width must be `in` (`what` says where that comes from).
LogicalResult checkWeight(Operation *op, Value weight, StringRef name,
                          StringRef layout, int64_t in, StringRef what) {
  auto type = cast<RankedTensorType>(weight.getType());
  if (type.getElementType().isInteger(8)) {
    if (type.getRank() != 3 || type.getDimSize(2) != kQ8BlockBytes ||
        type.isDynamicDim(1))
      return op->emitOpError()
             << "expects i8 '" << name << "' to be Q8_0 blocks [out, in/"
             << kQ8BlockSize << ", " << kQ8BlockBytes
             << "] with a static block count, got " << type;
    int64_t have = type.getDimSize(1) * kQ8BlockSize;
    if (!sameDim(have, in))
      return op->emitOpError()
             << "expects '" << name << "' to hold " << dimStr(in) << " / "
             << kQ8BlockSize << " Q8_0 blocks per row (" << what << "), got "
             << type.getDimSize(1) << " (" << have << " inputs)";
    return success();
  }
  if (failed(checkRank(op, weight, name, 2, layout)))
    return failure();
  return checkDim(op, weight, name, 1, in, what);
}

/// Checks an `[out, in]` projection `weight` against its rank-3 `input`
/// ([B, T, in]) and `result` ([B, T, out]); `in` names the input width in
/// messages (K or C).
LogicalResult checkProjection(Operation *op, Value input, Value weight,
                              Value result, StringRef in) {
  if (failed(checkWeight(op, weight, "weight",
                         ("[M, " + in + "] (out, in)").str(), dimOf(input, 2),
                         ("the input width " + in).str())))
    return failure();
  return checkRowResult(op, input, result, dimOf(weight, 0),
                        "the output width M of 'weight'");
}

} // namespace

bool mlir::rwkv::isQ8Weight(Type type) {
  auto t = dyn_cast<ShapedType>(type);
  return t && t.hasRank() && t.getElementType().isInteger(8) &&
         t.getRank() == 3 && t.getDimSize(2) == kQ8BlockBytes;
}

std::pair<int64_t, int64_t> mlir::rwkv::weightShape(Type type) {
  auto t = cast<ShapedType>(type);
  if (isQ8Weight(type))
    return {t.getDimSize(0), ShapedType::isDynamic(t.getDimSize(1))
                                 ? ShapedType::kDynamic
                                 : t.getDimSize(1) * kQ8BlockSize};
  if (t.getRank() == 2)
    return {t.getDimSize(0), t.getDimSize(1)};
  return {t.getRank() ? t.getDimSize(0) : ShapedType::kDynamic,
          ShapedType::kDynamic};
}

LogicalResult EmbeddingOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getTokens(), "tokens", 2, "[B, T]")) ||
      failed(checkRank(op, getTable(), "table", 2, "[V, C]")) ||
      failed(checkRank(op, getResult(), "result", 3, "[B, T, C]")) ||
      failed(checkDim(op, getResult(), "result", 0, dimOf(getTokens(), 0),
                      "the batch size of 'tokens'")) ||
      failed(checkDim(op, getResult(), "result", 1, dimOf(getTokens(), 1),
                      "the token count of 'tokens'")))
    return failure();
  return checkDim(op, getResult(), "result", 2, dimOf(getTable(), 1),
                  "the embedding width of 'table'");
}

LogicalResult LayerNormOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")))
    return failure();
  int64_t channels = dimOf(getInput(), 2);
  if (failed(checkChannelVector(op, getWeight(), "weight", channels)) ||
      failed(checkChannelVector(op, getBias(), "bias", channels)))
    return failure();
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError() << "expects a positive 'eps', got "
                         << getEps().convertToFloat();
  return success();
}

LogicalResult RmsNormOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")))
    return failure();
  if (failed(
          checkChannelVector(op, getWeight(), "weight", dimOf(getInput(), 2))))
    return failure();
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError() << "expects a positive 'eps', got "
                         << getEps().convertToFloat();
  return success();
}

LogicalResult GroupNormOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")))
    return failure();
  int64_t channels = dimOf(getInput(), 2);
  if (failed(checkChannelVector(op, getWeight(), "weight", channels)) ||
      failed(checkChannelVector(op, getBias(), "bias", channels)) ||
      failed(checkDivides(op, "num_groups", getNumGroups(), channels,
                          "equal groups")))
    return failure();
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError() << "expects a positive 'eps', got "
                         << getEps().convertToFloat();
  return success();
}

LogicalResult L2NormOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")))
    return failure();
  return checkDivides(op, "head_size", getHeadSize(), dimOf(getInput(), 2),
                      "whole heads");
}

LogicalResult TokenShiftOp::verify() {
  return checkShiftState(getOperation(), getInput(), getPrev());
}

LogicalResult LerpOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getStart(), "start", 3, "[B, T, C]")))
    return failure();
  auto weightType = cast<RankedTensorType>(getWeight().getType());
  if (weightType.getRank() == 1)
    return checkChannelVector(op, getWeight(), "weight", dimOf(getStart(), 2));
  if (weightType.getRank() != 3)
    return emitOpError() << "expects 'weight' of rank 1 [C] or rank 3 "
                            "[B, T, C], got "
                         << weightType;
  for (unsigned d = 0; d < 3; ++d)
    if (failed(checkDim(op, getWeight(), "weight", d, dimOf(getStart(), d),
                        "the shape of 'start'")))
      return failure();
  return success();
}

LogicalResult LinearOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, K]")))
    return failure();
  return checkProjection(op, getInput(), getWeight(), getResult(), "K");
}

LogicalResult ShiftLerpLinearOp::verify() {
  Operation *op = getOperation();
  if (failed(checkShiftState(op, getInput(), getPrev())) ||
      failed(checkChannelVector(op, getMu(), "mu", dimOf(getInput(), 2))))
    return failure();
  return checkProjection(op, getInput(), getWeight(), getResult(), "C");
}

Value ShiftLerpLinearOp::decompose(OpBuilder &builder, Value shifted) {
  Location loc = getLoc();
  if (!shifted)
    shifted = TokenShiftOp::create(builder, loc, getInput().getType(),
                                   getPrev().getType(), getInput(), getPrev())
                  .getShifted();
  bool previous = getMix() == ShiftMix::Previous;
  Value mixed = LerpOp::create(builder, loc, getInput().getType(),
                               previous ? getInput() : shifted,
                               previous ? shifted : getInput(), getMu());
  return LinearOp::create(builder, loc, getResult().getType(), mixed,
                          getWeight());
}

LogicalResult ActivationOp::verify() {
  if (getKind() == Activation::None)
    return emitOpError() << "expects an activation other than 'none' (omit "
                            "the op instead)";
  return success();
}

LogicalResult BiasAddOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, M]")))
    return failure();
  if (failed(checkRank(op, getBias(), "bias", 1, "[M]")))
    return failure();
  return checkDim(op, getBias(), "bias", 0, dimOf(getInput(), 2),
                  "the channel count M of 'input'");
}

LogicalResult LoraOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")) ||
      failed(checkRank(op, getDown(), "down", 2, "[D, C] (out, in)")) ||
      failed(checkDim(op, getDown(), "down", 1, dimOf(getInput(), 2),
                      "the input width C")) ||
      failed(checkRank(op, getUp(), "up", 2, "[M, D] (out, in)")) ||
      failed(checkDim(op, getUp(), "up", 1, dimOf(getDown(), 0),
                      "the rank D of 'down'")))
    return failure();
  int64_t outWidth = dimOf(getUp(), 0);
  if (getBias() && failed(checkChannelVector(op, getBias(), "bias", outWidth)))
    return failure();
  if (getActivation() == Activation::ReluSquare ||
      getOutputActivation() == Activation::ReluSquare)
    return emitOpError() << "supports activations none, tanh and sigmoid; "
                            "relu_square is a channel-mix activation";
  return checkRowResult(op, getInput(), getResult(), outWidth,
                        "the output width M of 'up'");
}

LogicalResult DDLerpOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")))
    return failure();
  int64_t channels = dimOf(getInput(), 2);
  int64_t k = static_cast<int64_t>(getMu().size());
  if (k == 0)
    return emitOpError() << "expects at least one 'mu' vector";
  if (getResults().size() != getMu().size())
    return emitOpError() << "expects one result per 'mu' vector (" << k
                         << "), got " << getResults().size();
  if (failed(checkChannelVector(op, getMuX(), "mu_x", channels)))
    return failure();
  for (Value mu : getMu())
    if (failed(checkChannelVector(op, mu, "mu", channels)))
      return failure();
  if (failed(checkRank(op, getDown(), "down", 2, "[K*D, C] (out, in)")) ||
      failed(checkDim(op, getDown(), "down", 1, channels,
                      "the channel count C")) ||
      failed(checkRank(op, getUp(), "up", 3, "[K, C, D]")) ||
      failed(checkDim(op, getUp(), "up", 0, k, "the number of 'mu' vectors")) ||
      failed(checkDim(op, getUp(), "up", 1, channels, "the channel count C")))
    return failure();
  int64_t rank = dimOf(getUp(), 2);
  if (!ShapedType::isDynamic(rank))
    if (failed(checkDim(op, getDown(), "down", 0, k * rank,
                        "K times the rank D of 'up'")))
      return failure();
  for (Value r : getResults())
    if (r.getType() != getInput().getType())
      return emitOpError() << "expects every result to have the type of "
                              "'input' ("
                           << getInput().getType() << "), got " << r.getType();
  return success();
}

LogicalResult Wkv4Op::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getK(), "k", 3, "[B, T, C]")))
    return failure();
  int64_t channels = dimOf(getK(), 2);
  if (failed(checkChannelVector(op, getW(), "w", channels)) ||
      failed(checkRank(op, getA(), "a", 2, "[B, C]")) ||
      failed(checkDim(op, getA(), "a", 0, dimOf(getK(), 0),
                      "the batch size of 'k'")))
    return failure();
  if (failed(
          checkDim(op, getA(), "a", 1, channels, "the channel count of 'k'")))
    return failure();
  if (getEps() && !(getEps()->convertToFloat() >= 0.0f &&
                    std::isfinite(getEps()->convertToFloat())))
    return emitOpError() << "expects a finite 'eps' >= 0, got "
                         << getEps()->convertToFloat();
  return success();
}

LogicalResult HeadQkOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getQ(), "q", 3, "[B, Tq, D]")) ||
      failed(checkRank(op, getK(), "k", 3, "[B, T, D]")) ||
      failed(checkRank(op, getTokens(), "tokens", 2, "[B, T]")) ||
      failed(checkRank(op, getCacheK(), "cache_k", 3, "[B, L, D]")) ||
      failed(checkRank(op, getCacheTokens(), "cache_tokens", 2, "[B, L]")) ||
      failed(checkRank(op, getCount(), "count", 2, "[B, 1]")) ||
      failed(checkRank(op, getY(), "y", 3, "[B, Tq, V]")))
    return failure();
  int64_t width = dimOf(getQ(), 2), rows = dimOf(getCacheK(), 1);
  if (ShapedType::isDynamic(width))
    return emitOpError() << "expects a static key width D";
  if (ShapedType::isDynamic(rows))
    return emitOpError() << "expects a static window length L";
  int64_t batch = dimOf(getQ(), 0);
  const char *batchOfQ = "the batch size of 'q'";
  if (failed(checkDim(op, getK(), "k", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getK(), "k", 2, width, "the key width of 'q'")) ||
      failed(checkDim(op, getTokens(), "tokens", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getTokens(), "tokens", 1, dimOf(getK(), 1),
                      "the token count of 'k'")) ||
      failed(checkDim(op, getCacheK(), "cache_k", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getCacheK(), "cache_k", 2, width,
                      "the key width of 'q'")) ||
      failed(
          checkDim(op, getCacheTokens(), "cache_tokens", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getCacheTokens(), "cache_tokens", 1, rows,
                      "the window length of 'cache_k'")) ||
      failed(checkDim(op, getCount(), "count", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getCount(), "count", 1, 1, "1")) ||
      failed(checkDim(op, getY(), "y", 0, batch, batchOfQ)) ||
      failed(checkDim(op, getY(), "y", 1, dimOf(getQ(), 1),
                      "the query count of 'q'")) ||
      failed(checkDim(op, getY(), "y", 2, getVocab(), "'vocab'")))
    return failure();
  int64_t tq = dimOf(getQ(), 1), tk = dimOf(getK(), 1);
  if (!ShapedType::isDynamic(tq) && !ShapedType::isDynamic(tk) && tq > tk)
    return emitOpError() << "expects at most as many queries as keys (the "
                            "queries are the call's last tokens), got "
                         << tq << " and " << tk;
  if (getVocab() < 1 || getVocab() > (int64_t{1} << 24))
    return emitOpError() << "expects 'vocab' in [1, 2^24] (token ids are "
                            "kept in f32), got "
                         << getVocab();
  if (!(getScale().convertToFloat() > 0.0f) ||
      !std::isfinite(getScale().convertToFloat()))
    return emitOpError() << "expects a positive finite 'scale', got "
                         << getScale().convertToFloat();
  return success();
}

LogicalResult CausalAttentionOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getQ(), "q", 3, "[B, T, D]")) ||
      failed(checkRank(op, getCacheK(), "cache_k", 3, "[B, L, D]")) ||
      failed(checkRank(op, getCount(), "count", 2, "[B, 1]")))
    return failure();
  int64_t width = dimOf(getQ(), 2);
  if (ShapedType::isDynamic(width))
    return emitOpError() << "expects a static head width D";
  if (failed(checkDim(op, getCacheK(), "cache_k", 0, dimOf(getQ(), 0),
                      "the batch size of 'q'")) ||
      failed(checkDim(op, getCacheK(), "cache_k", 2, width,
                      "the head width of 'q'")) ||
      failed(checkDim(op, getCount(), "count", 0, dimOf(getQ(), 0),
                      "the batch size of 'q'")) ||
      failed(checkDim(op, getCount(), "count", 1, 1, "1")))
    return failure();
  if (ShapedType::isDynamic(dimOf(getCacheK(), 1)))
    return emitOpError() << "expects a static cache length L";
  if (!(getScale().convertToFloat() > 0.0f))
    return emitOpError() << "expects a positive 'scale', got "
                         << getScale().convertToFloat();
  return success();
}

LogicalResult Wkv1Op::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getK(), "k", 3, "[B, T, A]")) ||
      failed(checkRank(op, getTimeW(), "time_w", 2, "[H, L]")) ||
      failed(checkRank(op, getHistory(), "history", 3, "[B, L, A]")) ||
      failed(checkRank(op, getDen(), "den", 2, "[B, A]")) ||
      failed(checkRank(op, getCount(), "count", 2, "[B, 1]")))
    return failure();
  int64_t width = dimOf(getK(), 2), heads = dimOf(getTimeW(), 0),
          rows = dimOf(getTimeW(), 1);
  if (ShapedType::isDynamic(width))
    return emitOpError() << "expects a static width A";
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(rows))
    return emitOpError() << "expects a static 'time_w' shape [H, L], got "
                         << getTimeW().getType();
  if (heads <= 0 || width % heads != 0)
    return emitOpError() << "expects the " << heads
                         << " heads of 'time_w' to divide the width " << width;
  int64_t batch = dimOf(getK(), 0);
  const char *batchOfK = "the batch size of 'k'";
  if (failed(checkDim(op, getHistory(), "history", 0, batch, batchOfK)) ||
      failed(checkDim(op, getHistory(), "history", 1, rows,
                      "the context length L of 'time_w'")) ||
      failed(checkDim(op, getHistory(), "history", 2, width,
                      "the width of 'k'")) ||
      failed(checkDim(op, getDen(), "den", 0, batch, batchOfK)) ||
      failed(checkDim(op, getDen(), "den", 1, width, "the width of 'k'")) ||
      failed(checkDim(op, getCount(), "count", 0, batch, batchOfK)) ||
      failed(checkDim(op, getCount(), "count", 1, 1, "1")))
    return failure();
  return success();
}

LogicalResult Wkv5Op::verify() {
  Operation *op = getOperation();
  FailureOr<std::pair<int64_t, int64_t>> shape =
      checkHeadState(op, getR(), getState());
  if (failed(shape))
    return failure();
  auto [heads, headSize] = *shape;
  return checkChannelVector(op, getU(), "u", heads * headSize);
}

LogicalResult Wkv7Op::verify() {
  return checkHeadState(getOperation(), getR(), getState());
}

LogicalResult Wkv7BonusOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getR(), "r", 3, "[B, T, C]")) ||
      failed(checkRank(op, getRK(), "r_k", 2, "[H, N]")))
    return failure();
  int64_t heads = dimOf(getRK(), 0), headSize = dimOf(getRK(), 1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(headSize))
    return emitOpError() << "expects a static 'r_k' shape, got "
                         << getRK().getType();
  return checkDim(op, getR(), "r", 2, heads * headSize, "H * N from 'r_k'");
}

LogicalResult Wkv7FusedOp::verify() {
  Operation *op = getOperation();
  FailureOr<std::pair<int64_t, int64_t>> shape =
      checkHeadState(op, getR(), getState());
  if (failed(shape))
    return failure();
  auto [heads, headSize] = *shape;
  int64_t channels = heads * headSize;
  if (failed(
          checkChannelVector(op, getNormWeight(), "norm_weight", channels)) ||
      failed(checkRank(op, getRK(), "r_k", 2, "[H, N]")) ||
      failed(checkDim(op, getRK(), "r_k", 0, heads, "H from 'state'")) ||
      failed(checkDim(op, getRK(), "r_k", 1, headSize, "N from 'state'")))
    return failure();
  if (getGate() && getGate().getType() != getR().getType())
    return emitOpError() << "expects 'gate' to have the type of 'r' ("
                         << getR().getType() << "), got "
                         << getGate().getType();
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError() << "expects a positive 'eps', got "
                         << getEps().convertToFloat();
  return success();
}

std::pair<Value, Value> Wkv7FusedOp::decompose(OpBuilder &builder) {
  Location loc = getLoc();
  auto wkv = Wkv7Op::create(builder, loc, getR().getType(),
                            getState().getType(), getR(), getW(), getK(),
                            getV(), getA(), getB(), getState());
  int64_t heads = dimOf(getState(), 1);
  Value normed =
      GroupNormOp::create(builder, loc, wkv.getY().getType(), wkv.getY(),
                          getNormWeight(), getNormBias(), heads, getEps());
  Value bonus = Wkv7BonusOp::create(builder, loc, getR().getType(), getR(),
                                    getK(), getV(), getRK());
  Value out = arith::AddFOp::create(builder, loc, normed, bonus);
  if (getGate())
    out = arith::MulFOp::create(builder, loc, out, getGate());
  return {out, wkv.getNewState()};
}

LogicalResult ChannelMixOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "input", 3, "[B, T, C]")) ||
      failed(checkWeight(op, getKey(), "key", "[F, C] (out, in)",
                         dimOf(getInput(), 2), "the input width C")) ||
      failed(checkWeight(op, getValue(), "value", "[C', F] (out, in)",
                         dimOf(getKey(), 0), "the hidden width F of 'key'")))
    return failure();
  if (static_cast<bool>(getReceptanceInput()) !=
      static_cast<bool>(getReceptance()))
    return emitOpError() << "expects both 'receptance_input' and "
                            "'receptance', or neither";
  if (getReceptance()) {
    if (getReceptanceInput().getType() != getInput().getType())
      return emitOpError() << "expects 'receptance_input' to have the type "
                              "of 'input' ("
                           << getInput().getType() << "), got "
                           << getReceptanceInput().getType();
    if (failed(checkWeight(op, getReceptance(), "receptance",
                           "[C', C] (out, in)", dimOf(getInput(), 2),
                           "the input width C")) ||
        failed(checkDim(op, getReceptance(), "receptance", 0,
                        dimOf(getValue(), 0), "the output width of 'value'")))
      return failure();
  }
  return checkRowResult(op, getInput(), getResult(), dimOf(getValue(), 0),
                        "the output width of 'value'");
}

#define GET_OP_CLASSES
#include "dialect/RwkvOps.cpp.inc"
