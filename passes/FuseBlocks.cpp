//===- FuseBlocks.cpp - LoRA and channel-mix chains into fused ops --------===//
//
// The importer writes LoRA blocks and channel mixes as chains of primitive
// rwkv ops (linear, activation, bias_add, arith.mulf). These passes turn each
// chain into one rwkv.lora / rwkv.channel_mix, whose lowering keeps the
// block's intermediate activations local to the kernel. A chain is fused
// only when no intermediate value is used outside it; otherwise the pass
// leaves it alone and emits a remark saying why.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/RwkvOps.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVFUSELORAPASS
#define GEN_PASS_DEF_RWKVFUSECHANNELMIXPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// The op defining `v` if it is an OpTy, else null.
template <typename OpTy> OpTy producer(Value v) {
  return v ? v.getDefiningOp<OpTy>() : OpTy();
}

/// The single user of `v` if it is an OpTy and `v` has no other use.
template <typename OpTy> OpTy soleUser(Value v) {
  if (!v.hasOneUse())
    return OpTy();
  return dyn_cast<OpTy>(*v.getUsers().begin());
}

int64_t width(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape().back();
}

/// Erases the ops of a fused chain that have no uses left.
void eraseDead(RewriterBase &rewriter, ArrayRef<Operation *> ops,
               DenseSet<Operation *> &erased) {
  for (Operation *op : ops)
    if (op && op->use_empty()) {
      erased.insert(op);
      rewriter.eraseOp(op);
    }
}

/// linear(act?(linear(x, down)), up) [+ bias] [act_out] -> rwkv.lora, anchored
/// on the `up` projection.
struct FuseLora {
  static LogicalResult apply(LinearOp up, RewriterBase &rewriter,
                             DenseSet<Operation *> &erased) {
    Value hidden = up.getInput();
    auto innerAct = producer<ActivationOp>(hidden);
    auto down = producer<LinearOp>(innerAct ? innerAct.getInput() : hidden);
    // Not a chain, or not low-rank (a wider middle is two ordinary
    // projections, not a LoRA).
    if (!down || width(down.getResult()) > width(down.getInput()))
      return failure();
    Activation inner = innerAct ? innerAct.getKind() : Activation::None;
    if (inner == Activation::ReluSquare) {
      up.emitRemark() << "LoRA not fused: relu_square is a channel-mix "
                         "activation (run rwkv-fuse-channel-mix first)";
      return failure();
    }
    if (!down.getResult().hasOneUse() ||
        (innerAct && !innerAct.getResult().hasOneUse())) {
      up.emitRemark() << "LoRA not fused: its hidden activations are also "
                         "used outside the block";
      return failure();
    }
    // Optional bias and output activation, when used only here.
    Operation *last = up, *addOp = nullptr, *outerOp = nullptr;
    Value bias;
    if (auto add = soleUser<BiasAddOp>(up.getResult())) {
      bias = add.getBias();
      last = addOp = add;
    }
    Activation outer = Activation::None;
    if (auto act = soleUser<ActivationOp>(last->getResult(0));
        act && act.getKind() != Activation::ReluSquare) {
      outer = act.getKind();
      last = outerOp = act;
    }
    rewriter.setInsertionPoint(last);
    Location loc = rewriter.getFusedLoc({down.getLoc(), last->getLoc()});
    auto lora = LoraOp::create(rewriter, loc, last->getResult(0).getType(),
                               down.getInput(), down.getWeight(),
                               up.getWeight(), bias, inner, outer);
    rewriter.replaceAllUsesWith(last->getResult(0), lora.getResult());
    // From the end of the chain back to its start.
    Operation *chain[] = {outerOp, addOp, up,
                          innerAct ? innerAct.getOperation() : nullptr, down};
    eraseDead(rewriter, chain, erased);
    return success();
  }
};

/// linear(relu²(linear(x_k, K)), V) [⊙ σ(linear(x_r, R))] ->
/// rwkv.channel_mix, anchored on the value projection.
struct FuseChannelMix {
  static LogicalResult apply(LinearOp value, RewriterBase &rewriter,
                             DenseSet<Operation *> &erased) {
    auto act = producer<ActivationOp>(value.getInput());
    if (!act || act.getKind() != Activation::ReluSquare)
      return failure();
    auto key = producer<LinearOp>(act.getInput());
    if (!key)
      return failure();
    if (!key.getResult().hasOneUse() || !act.getResult().hasOneUse()) {
      value.emitRemark() << "channel mix not fused: its hidden activations "
                            "are also used outside the block";
      return failure();
    }
    // The gate: arith.mulf with σ(x_r · Rᵀ) on either side.
    Operation *last = value, *sigmoidOp = nullptr, *rOp = nullptr;
    Value xr, receptance;
    if (auto mul = soleUser<arith::MulFOp>(value.getResult())) {
      Value other =
          mul.getLhs() == value.getResult() ? mul.getRhs() : mul.getLhs();
      auto sigmoid = producer<ActivationOp>(other);
      auto r = sigmoid && sigmoid.getKind() == Activation::Sigmoid
                   ? producer<LinearOp>(sigmoid.getInput())
                   : LinearOp();
      if (r && r.getInput().getType() == key.getInput().getType()) {
        if (sigmoid.getResult().hasOneUse() && r.getResult().hasOneUse()) {
          xr = r.getInput();
          receptance = r.getWeight();
          last = mul;
          sigmoidOp = sigmoid;
          rOp = r;
        } else {
          value.emitRemark() << "channel-mix gate not fused: the receptance "
                                "is also used outside the block";
        }
      }
    }
    rewriter.setInsertionPoint(last);
    Location loc = rewriter.getFusedLoc({key.getLoc(), last->getLoc()});
    auto mix = ChannelMixOp::create(rewriter, loc, last->getResult(0).getType(),
                                    key.getInput(), key.getWeight(),
                                    value.getWeight(), xr, receptance);
    rewriter.replaceAllUsesWith(last->getResult(0), mix.getResult());
    Operation *chain[] = {
        last == value ? nullptr : last, value, act, key, sigmoidOp, rOp};
    eraseDead(rewriter, chain, erased);
    return success();
  }
};

/// Visits every projection once, in order, as the anchor of a chain; ops
/// erased by an earlier fusion are skipped.
template <typename Fusion> void fuseAll(Operation *root) {
  SmallVector<LinearOp> anchors;
  root->walk([&](LinearOp op) { anchors.push_back(op); });
  IRRewriter rewriter(root->getContext());
  DenseSet<Operation *> erased;
  for (LinearOp op : anchors)
    if (!erased.contains(op))
      (void)Fusion::apply(op, rewriter, erased);
}

struct RwkvFuseLoraPass : rwkv::impl::RwkvFuseLoraPassBase<RwkvFuseLoraPass> {
  void runOnOperation() override { fuseAll<FuseLora>(getOperation()); }
};

struct RwkvFuseChannelMixPass
    : rwkv::impl::RwkvFuseChannelMixPassBase<RwkvFuseChannelMixPass> {
  void runOnOperation() override { fuseAll<FuseChannelMix>(getOperation()); }
};

} // namespace
