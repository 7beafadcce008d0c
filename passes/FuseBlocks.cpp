//===- FuseBlocks.cpp - chains of rwkv ops into fused ops -----------------===//
//
// The importer writes LoRA blocks, channel mixes, the RWKV-7 WKV output and
// the token-shift mixes as chains of primitive rwkv ops (linear, activation,
// bias_add, wkv7, group_norm, wkv7_bonus, token_shift, lerp, arith.addf/mulf).
// These passes turn each chain into one rwkv.lora / rwkv.channel_mix /
// rwkv.wkv7_fused / rwkv.shift_lerp_linear, whose lowering keeps the block's
// intermediate values local to the kernel. A chain is fused only
// when no intermediate value is used outside it; otherwise the pass leaves
// it alone and emits a remark saying why.
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
#define GEN_PASS_DEF_RWKVFUSEWKVOUTPUTPASS
#define GEN_PASS_DEF_RWKVFUSETOKENSHIFTPASS
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
    // rwkv.lora takes float matrices (precision.lora keeps them so).
    if (isQ8Weight(down.getWeight().getType()) ||
        isQ8Weight(up.getWeight().getType()))
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

/// wkv7 -> group_norm (one group per head) -> + wkv7_bonus(r, k, v) [-> ⊙ gate]
/// -> rwkv.wkv7_fused, anchored on the wkv7 op.
struct FuseWkvOutput {
  static LogicalResult apply(Wkv7Op wkv, RewriterBase &rewriter) {
    Value y = wkv.getY();
    if (y.use_empty())
      return failure();
    auto decline = [&](const Twine &why) {
      wkv.emitRemark() << "WKV output not fused: " << why;
      return failure();
    };
    auto norm = soleUser<GroupNormOp>(y);
    if (!norm)
      return decline("its output is not used by exactly one rwkv.group_norm");
    int64_t heads =
        cast<RankedTensorType>(wkv.getState().getType()).getDimSize(1);
    if (static_cast<int64_t>(norm.getNumGroups()) != heads)
      return decline("the group norm has " + Twine(norm.getNumGroups()) +
                     " groups, the WKV " + Twine(heads) + " heads");
    auto add = soleUser<arith::AddFOp>(norm.getResult());
    if (!add)
      return decline("the group norm's result is not used only by an "
                     "arith.addf with the bonus");
    Value other =
        add.getLhs() == norm.getResult() ? add.getRhs() : add.getLhs();
    auto bonus = producer<Wkv7BonusOp>(other);
    if (!bonus || bonus.getR() != wkv.getR() || bonus.getK() != wkv.getK() ||
        bonus.getV() != wkv.getV())
      return decline("the group norm is not added to rwkv.wkv7_bonus of the "
                     "WKV's r, k and v");
    if (!bonus.getResult().hasOneUse())
      return decline("the bonus is also used outside the block");
    Operation *last = add;
    Value gate;
    if (auto mul = soleUser<arith::MulFOp>(add.getResult())) {
      gate = mul.getLhs() == add.getResult() ? mul.getRhs() : mul.getLhs();
      last = mul;
    }
    // The fused op is created where the chain ends; the new state must not
    // be needed before that.
    for (Operation *user : wkv.getNewState().getUsers())
      if (user->getBlock() != last->getBlock() || user->isBeforeInBlock(last))
        return decline("the new state is used before the end of the block");
    if (last->getBlock() != wkv->getBlock())
      return decline("the chain spans several blocks");
    rewriter.setInsertionPoint(last);
    Location loc = rewriter.getFusedLoc({wkv.getLoc(), last->getLoc()});
    auto fused = Wkv7FusedOp::create(
        rewriter, loc, last->getResult(0).getType(),
        wkv.getNewState().getType(), wkv.getR(), wkv.getW(), wkv.getK(),
        wkv.getV(), wkv.getA(), wkv.getB(), wkv.getState(), norm.getWeight(),
        norm.getBias(), bonus.getRK(), gate, norm.getEpsAttr());
    rewriter.replaceAllUsesWith(last->getResult(0), fused.getResult());
    rewriter.replaceAllUsesWith(wkv.getNewState(), fused.getNewState());
    DenseSet<Operation *> erased;
    Operation *chain[] = {last == add ? nullptr : last, add, bonus, norm, wkv};
    eraseDead(rewriter, chain, erased);
    return success();
  }
};

/// token_shift -> lerp(x, shifted, mu) or lerp(shifted, x, mu) -> linear
/// -> rwkv.shift_lerp_linear, for every projection of every such mix. A mix
/// that also feeds ops without a mixed-input form (LoRAs, channel mixes) is
/// kept for them.
struct FuseTokenShift {
  static void apply(TokenShiftOp shift, RewriterBase &rewriter) {
    Value x = shift.getInput(), shifted = shift.getShifted();
    SmallVector<LerpOp> lerps;
    for (Operation *user : shifted.getUsers())
      if (auto lerp = dyn_cast<LerpOp>(user))
        lerps.push_back(lerp);
    for (LerpOp lerp : lerps) {
      ShiftMix mix;
      if (lerp.getStart() == x && lerp.getEnd() == shifted)
        mix = ShiftMix::Previous;
      else if (lerp.getStart() == shifted && lerp.getEnd() == x)
        mix = ShiftMix::Current;
      else
        continue; // not a mix of a token with its predecessor
      if (cast<RankedTensorType>(lerp.getWeight().getType()).getRank() != 1) {
        lerp.emitRemark() << "token-shift mix not fused: its weight is not a "
                             "per-channel vector";
        continue;
      }
      SmallVector<LinearOp> projections;
      Operation *other = nullptr;
      for (Operation *user : lerp->getUsers()) {
        auto linear = dyn_cast<LinearOp>(user);
        if (linear && linear.getInput() == lerp.getResult())
          projections.push_back(linear);
        else if (!other)
          other = user;
      }
      if (projections.empty()) {
        if (!other)
          continue; // unused: left to the canonicalizer
        lerp.emitRemark() << "token-shift mix not fused: it feeds no "
                             "rwkv.linear ("
                          << other->getName() << " has no mixed-input form)";
        continue;
      }
      for (LinearOp linear : projections) {
        rewriter.setInsertionPoint(linear);
        Location loc = rewriter.getFusedLoc({lerp.getLoc(), linear.getLoc()});
        rewriter.replaceOp(
            linear, ShiftLerpLinearOp::create(
                        rewriter, loc, linear.getResult().getType(), mix, x,
                        shift.getPrev(), lerp.getWeight(), linear.getWeight()));
      }
      if (other)
        lerp.emitRemark() << "token-shift mix fused into " << projections.size()
                          << " projection(s) and also kept for "
                          << other->getName()
                          << ", which has no mixed-input form";
      else
        rewriter.eraseOp(lerp);
    }
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

struct RwkvFuseTokenShiftPass
    : rwkv::impl::RwkvFuseTokenShiftPassBase<RwkvFuseTokenShiftPass> {
  void runOnOperation() override {
    SmallVector<TokenShiftOp> anchors;
    getOperation()->walk([&](TokenShiftOp op) { anchors.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (TokenShiftOp op : anchors)
      FuseTokenShift::apply(op, rewriter);
  }
};

struct RwkvFuseWkvOutputPass
    : rwkv::impl::RwkvFuseWkvOutputPassBase<RwkvFuseWkvOutputPass> {
  void runOnOperation() override {
    SmallVector<Wkv7Op> anchors;
    getOperation()->walk([&](Wkv7Op op) { anchors.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (Wkv7Op op : anchors)
      (void)FuseWkvOutput::apply(op, rewriter);
  }
};

} // namespace
