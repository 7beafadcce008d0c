//===- TileSequence.cpp - chunk a block's tokens, carrying its state ------===//
//
// rwkv-tile-sequence: every rwkv op is causal along the token axis and takes
// whatever it needs from earlier tokens through an explicit state (token
// shift: the previous row; WKV: the matrix state). A block function of the
// parallel form can therefore run chunk by chunk, with its state results fed
// back as its state arguments, and compute exactly what it computes on the
// whole sequence at once. This pass makes that loop explicit, so that every
// intermediate activation of the block is [B, chunk, C] (cache-resident)
// instead of [B, T, C].
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/TensorSizes.h"

#include "dialect/RwkvDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVTILESEQUENCEPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// How an argument or result of a block function takes part in the loop.
struct Roles {
  SmallVector<unsigned> activationArgs; ///< sliced per chunk
  SmallVector<unsigned> stateArgs;      ///< carried by the loop
  SmallVector<unsigned> activationResults, stateResults;
  /// For each state result, the position in `stateArgs` of the state
  /// argument it feeds back into (its loop-carried slot).
  SmallVector<unsigned> stateSlotOfResult;
};

/// A token-indexed tensor: rank >= 2, dimension 1 dynamic, every dimension
/// after it static.
bool isTokenTensor(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || t.getRank() < 2 || !t.isDynamicDim(1))
    return false;
  for (int64_t d = 2; d < t.getRank(); ++d)
    if (t.isDynamicDim(d))
      return false;
  return true;
}

struct RwkvTileSequencePass
    : rwkv::impl::RwkvTileSequencePassBase<RwkvTileSequencePass> {
  using RwkvTileSequencePassBase::RwkvTileSequencePassBase;

  /// Classifies the function's arguments and results; failure (with a
  /// remark) when the function has a state but cannot be chunked.
  FailureOr<Roles> classify(func::FuncOp fn) {
    Roles roles;
    llvm::StringMap<unsigned> stateSlotByName; // name -> position in stateArgs
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      if (auto name = fn.getArgAttrOfType<StringAttr>(i, kStateAttr)) {
        if (!stateSlotByName
                 .try_emplace(name.getValue(), roles.stateArgs.size())
                 .second) {
          fn.emitRemark() << "sequence not tiled: two state arguments are "
                             "named '"
                          << name.getValue() << "'";
          return failure();
        }
        roles.stateArgs.push_back(i);
      } else if (fn.getArgAttr(i, kActivationAttr)) {
        roles.activationArgs.push_back(i);
      }
    }
    // Without a state there is nothing that crosses chunks; embedding and
    // head functions are left as they are.
    if (roles.stateArgs.empty())
      return failure();
    if (roles.activationArgs.empty())
      return failure();
    auto decline = [&](const Twine &why) -> FailureOr<Roles> {
      fn.emitRemark() << "sequence not tiled: " << why;
      return failure();
    };
    FunctionType type = fn.getFunctionType();
    // The recurrent form (a static token count) has nothing to tile.
    auto first =
        dyn_cast<RankedTensorType>(type.getInput(roles.activationArgs.front()));
    if (first && first.getRank() >= 2 && !first.isDynamicDim(1))
      return failure();
    for (unsigned i : roles.activationArgs)
      if (!isTokenTensor(type.getInput(i)))
        return decline("activation argument " + Twine(i) +
                       " is not [B, T, ...] with a dynamic T and static "
                       "trailing dimensions");
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      if (auto name = fn.getResultAttrOfType<StringAttr>(i, kStateAttr)) {
        auto it = stateSlotByName.find(name.getValue());
        if (it == stateSlotByName.end())
          return decline("state result '" + name.getValue() +
                         "' has no state argument");
        if (type.getResult(i) != type.getInput(roles.stateArgs[it->second]))
          return decline("state result '" + name.getValue() +
                         "' has another type than its argument");
        roles.stateResults.push_back(i);
        roles.stateSlotOfResult.push_back(it->second);
      } else if (fn.getResultAttr(i, kActivationAttr) &&
                 isTokenTensor(type.getResult(i))) {
        roles.activationResults.push_back(i);
      } else if (auto t = dyn_cast<RankedTensorType>(type.getResult(i));
                 fn.getResultAttr(i, kActivationAttr) && t &&
                 t.getRank() >= 2 && t.getDimSize(1) == 1) {
        // The last token's logits of a head with a state (RWKV-3's head-QK
        // window): it only reads the last chunk; nothing to tile.
        return failure();
      } else {
        return decline("result " + Twine(i) +
                       " is neither a state nor a [B, T, ...] activation");
      }
    }
    // Every state argument is returned exactly once.
    SmallVector<unsigned> returnedSlots(roles.stateSlotOfResult);
    llvm::sort(returnedSlots);
    if (std::adjacent_find(returnedSlots.begin(), returnedSlots.end()) !=
        returnedSlots.end())
      return decline("a state is returned twice");
    if (returnedSlots.size() != roles.stateArgs.size())
      return decline("not every state argument is returned");
    if (!fn.getBody().hasOneBlock())
      return decline("the body has more than one block");
    return roles;
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (chunkSize < 1) {
      fn.emitError() << "rwkv-tile-sequence: chunk-size must be positive, got "
                     << chunkSize.getValue();
      return signalPassFailure();
    }
    if (fn.isExternal())
      return;
    FailureOr<Roles> roles = classify(fn);
    if (failed(roles))
      return;

    Block &body = fn.front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<Operation *> bodyOps;
    for (Operation &op : body.without_terminator())
      bodyOps.push_back(&op);

    Location loc = fn.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    Value like = fn.getArgument(roles->activationArgs.front());
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value tokens = tensor::DimOp::create(b, loc, like, 1);
    Value chunk = arith::ConstantIndexOp::create(b, loc, chunkSize);
    SmallVector<Value> inits;
    for (unsigned i : roles->activationResults) {
      auto type = cast<RankedTensorType>(fn.getResultTypes()[i]);
      inits.push_back(tensor::EmptyOp::create(
          b, loc, sizesWith(b, loc, type, like, 1, tokens),
          type.getElementType()));
    }
    for (unsigned i : roles->stateArgs)
      inits.push_back(fn.getArgument(i));

    auto loop = scf::ForOp::create(b, loc, c0, tokens, chunk, inits);
    Block *loopBody = loop.getBody();
    b.setInsertionPointToStart(loopBody);
    Value t0 = loop.getInductionVar();
    Value len = arith::MinSIOp::create(
        b, loc, chunk, arith::SubIOp::create(b, loc, tokens, t0));
    // Operands are set once the body is in place.
    Operation *yield = scf::YieldOp::create(b, loc);

    // Inside the loop, activations are the chunk's slice and states the
    // loop-carried values.
    auto sliceParams = [&](RankedTensorType type, Value src) {
      SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
      offsets[1] = t0;
      SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
      return std::make_tuple(offsets, sizesWith(b, loc, type, src, 1, len),
                             strides);
    };
    unsigned numActivations = roles->activationResults.size();
    for (Operation *op : bodyOps)
      op->moveBefore(yield);
    b.setInsertionPointAfter(len.getDefiningOp());
    // What an argument is inside the loop (also for arguments the function
    // returns unchanged).
    DenseMap<Value, Value> inside;
    for (unsigned i : roles->activationArgs) {
      Value arg = fn.getArgument(i);
      auto type = cast<RankedTensorType>(arg.getType());
      auto [offsets, sizes, strides] = sliceParams(type, arg);
      inside[arg] = tensor::ExtractSliceOp::create(b, loc, type, arg, offsets,
                                                   sizes, strides);
    }
    for (auto [k, i] : llvm::enumerate(roles->stateArgs))
      inside[fn.getArgument(i)] = loop.getRegionIterArgs()[numActivations + k];
    // Only the original body's uses: the slices and their sizes read the
    // arguments themselves.
    DenseSet<Operation *> original(bodyOps.begin(), bodyOps.end());
    for (auto &entry : inside)
      entry.first.replaceUsesWithIf(entry.second, [&](OpOperand &use) {
        Operation *top = loopBody->findAncestorOpInBlock(*use.getOwner());
        return top && original.contains(top);
      });
    auto returned = [&](unsigned i) -> Value {
      Value v = ret.getOperand(i);
      return inside.lookup_or(v, v);
    };

    // The chunk's results: activations go into their slice of the loop's
    // outputs, states are carried to the next chunk.
    b.setInsertionPoint(yield);
    SmallVector<Value> yielded;
    for (auto [k, i] : llvm::enumerate(roles->activationResults)) {
      Value dest = loop.getRegionIterArgs()[k];
      auto type = cast<RankedTensorType>(dest.getType());
      auto [offsets, sizes, strides] = sliceParams(type, dest);
      yielded.push_back(tensor::InsertSliceOp::create(b, loc, returned(i), dest,
                                                      offsets, sizes, strides));
    }
    SmallVector<Value> stateOut(roles->stateArgs.size());
    for (auto [k, i] : llvm::enumerate(roles->stateResults))
      stateOut[roles->stateSlotOfResult[k]] = returned(i);
    yielded.append(stateOut);
    yield->setOperands(yielded);

    for (auto [k, i] : llvm::enumerate(roles->activationResults))
      ret.setOperand(i, loop.getResult(k));
    for (auto [k, i] : llvm::enumerate(roles->stateResults))
      ret.setOperand(
          i, loop.getResult(numActivations + roles->stateSlotOfResult[k]));
  }
};

} // namespace
