//===- Importer.cpp - build rwkv IR from a spec's blocks ------------------===//
//
// One path: every block of the spec (written in the block language, or
// chosen from the fragment library by the menu keys) is resolved per layer,
// layers that resolve alike share one function ("block kind"), and each
// value becomes the ops of its `op` in a topological order.
//
//===----------------------------------------------------------------------===//

#include "importer/ImporterImpl.h"

#include "dialect/RwkvDialect.h"
#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::detail;

namespace {

/// Collects a function signature with role attributes, then builds the body.
struct Signature {
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
};

} // namespace

namespace mlir::rwkv::detail {

void Importer::buildBlock(const BlockDef &block, StringRef name,
                          ArrayRef<unsigned> layers,
                          const ResolvedBlock &resolved) {
  current = &resolved;
  env = Spec::perLayerBlock(block.name) ? spec.layerSizes(layers.front())
                                        : spec.sizes;
  built.clear();
  builtins.clear();
  Signature sig;
  auto addArg = [&](Type type, StringRef role, StringRef argName) {
    sig.argTypes.push_back(type);
    sig.argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(argName))));
  };
  auto addResult = [&](Type type, StringRef role, StringRef resultName) {
    sig.resultTypes.push_back(type);
    sig.resultAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(resultName))));
  };
  auto stateType = [&](const ValueDef *s) {
    const StateInfo *info = nullptr;
    for (const StateInfo &st : spec.states())
      if (st.name == s->name)
        info = &st;
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(info->shape.begin(), info->shape.end());
    return RankedTensorType::get(shape, f32());
  };
  // Arguments: built-in activations, states, declared inputs, parameters.
  for (StringRef b : {"h", "tokens"})
    if (llvm::is_contained(resolved.builtins, b))
      addArg(b == "h" ? Type(act(spec.dModel))
                      : RankedTensorType::get({ShapedType::kDynamic, t},
                                              builder.getI32Type()),
             kActivationAttr, b);
  for (const ValueDef *s : resolved.states)
    addArg(stateType(s), kStateAttr, s->name);
  for (const ValueDef *in : resolved.inputs) {
    std::string why;
    std::optional<int64_t> w =
        in->shape.size() == 1 ? evalExpr(in->shape[0], env, why) : std::nullopt;
    if (!w || *w <= 0) {
      error(in->loc) << "input '" << in->name
                     << "' must give its width as input = [width]"
                     << (why.empty() ? "" : ": " + why);
      return;
    }
    addArg(act(*w), kActivationAttr, in->name);
  }
  for (const ValueDef *p : resolved.params)
    addArg(paramType(param(p->name)), kParamAttr, p->name);

  builder.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(builder, block.loc, (name + suffix).str(),
                                 builder.getFunctionType(sig.argTypes, {}));
  fn->setAttr(kModeAttr,
              builder.getStringAttr(t == 1 ? "recurrent" : "parallel"));
  fn.setAllArgAttrs(ArrayRef<DictionaryAttr>(sig.argAttrs));
  fn->setAttr(
      kEntryAttr,
      builder.getStringAttr(allTokens ? std::string("head_all") : block.name));
  SmallVector<int64_t> layerList(layers.begin(), layers.end());
  fn->setAttr(kLayersAttr, builder.getDenseI64ArrayAttr(layerList));
  Block *body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);
  unsigned arg = 0;
  for (StringRef b : {"h", "tokens"})
    if (llvm::is_contained(resolved.builtins, b))
      builtins[b.str()] = body->getArgument(arg++);
  for (const ValueDef *s : resolved.states)
    built[s] = {body->getArgument(arg++)};
  for (const ValueDef *in : resolved.inputs)
    built[in] = {body->getArgument(arg++)};
  for (const ValueDef *p : resolved.params)
    built[p] = {body->getArgument(arg++)};

  for (const ValueDef *v : resolved.ops)
    if (!emit(*v)) {
      fn.erase();
      return;
    }

  // Results: the main output, the states after the block, other outputs.
  SmallVector<Value> results;
  auto resultOf = [&](const ValueRef &ref, StringRef what,
                      Location at) -> Value {
    Value r = lookup(ref);
    if (!r)
      error(at) << what << ": " << noSuchResult(ref);
    return r;
  };
  const auto &outs = resolved.outputs;
  Value main = resultOf(outs.front().second, "the main output", block.loc);
  if (!main) {
    fn.erase();
    return;
  }
  Type mainType = block.name == "head"
                      ? Type(act(spec.vocabSize, allTokens ? t : 1))
                  : block.name == "embed" || Spec::perLayerBlock(block.name)
                      ? Type(act(spec.dModel))
                      : main.getType();
  if (main.getType() != mainType) {
    const ValueDef *v = outs.front().second.def;
    error(v ? v->loc : block.loc)
        << "output '" << outs.front().first << "' of block '" << block.name
        << "' must be " << shapeString(mainType) << ", got "
        << shapeString(main.getType());
    fn.erase();
    return;
  }
  results.push_back(main);
  addResult(mainType, kActivationAttr, outs.front().first);
  for (const ValueDef *s : resolved.states) {
    Value next =
        resultOf(resolved.refs.at(s->next), "'next' of " + s->name, s->loc);
    if (!next) {
      fn.erase();
      return;
    }
    Type want = built.at(s).front().getType();
    if (next.getType() != want) {
      error(s->loc) << "state '" << s->name << "' is " << shapeString(want)
                    << " but its next value '" << s->next << "' is "
                    << shapeString(next.getType());
      fn.erase();
      return;
    }
    results.push_back(next);
    addResult(want, kStateAttr, s->name);
  }
  for (auto &[outName, ref] : llvm::drop_begin(outs)) {
    Value r = resultOf(ref, "output '" + outName + "'", block.loc);
    if (!r) {
      fn.erase();
      return;
    }
    results.push_back(r);
    addResult(r.getType(), kActivationAttr, outName);
  }
  func::ReturnOp::create(builder, block.loc, results);
  fn.setFunctionType(builder.getFunctionType(sig.argTypes, sig.resultTypes));
  fn.setAllResultAttrs(ArrayRef<DictionaryAttr>(sig.resultAttrs));
}

/// Puts the parameter arguments of `fn` in the order of their first use in
/// its body (activations and states keep their places in front), so a
/// function's signature follows its dataflow and not the order in which
/// its parameters were declared.
static void orderParamsByFirstUse(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  unsigned numArgs = body.getNumArguments();
  SmallVector<unsigned> params;
  for (unsigned i = 0; i < numArgs; ++i)
    if (fn.getArgAttr(i, kParamAttr))
      params.push_back(i);
  DenseMap<Value, unsigned> firstUse;
  unsigned counter = 0;
  fn.walk([&](Operation *op) {
    for (Value operand : op->getOperands())
      if (auto arg = dyn_cast<BlockArgument>(operand);
          arg && arg.getOwner() == &body)
        firstUse.try_emplace(arg, counter++);
  });
  SmallVector<unsigned> order(params);
  llvm::stable_sort(order, [&](unsigned a, unsigned b) {
    auto rank = [&](unsigned i) {
      auto it = firstUse.find(body.getArgument(i));
      return it == firstUse.end() ? ~0u : it->second;
    };
    return rank(a) < rank(b);
  });
  if (order == params)
    return;
  // Append the parameters in their new order, then drop the old ones.
  for (unsigned old : order) {
    BlockArgument from = body.getArgument(old);
    unsigned at = fn.getNumArguments();
    if (failed(fn.insertArgument(at, from.getType(), fn.getArgAttrDict(old),
                                 from.getLoc())))
      llvm_unreachable("cannot extend a function signature");
    from.replaceAllUsesWith(body.getArgument(at));
  }
  llvm::BitVector drop(fn.getNumArguments());
  for (unsigned old : params)
    drop.set(old);
  if (failed(fn.eraseArguments(drop)))
    llvm_unreachable("cannot shrink a function signature");
}

OwningOpRef<ModuleOp> Importer::run() {
  ctx->loadDialect<RwkvDialect, func::FuncDialect, arith::ArithDialect,
                   math::MathDialect, tensor::TensorDialect,
                   linalg::LinalgDialect>();
  OwningOpRef<ModuleOp> owned =
      ModuleOp::create(FileLineColLoc::get(ctx, spec.path, 1, 1), spec.name);
  module = *owned;
  module->setAttr("rwkv.spec_sha256", builder.getStringAttr(spec.sha256));

  // Layers that resolve to the same values share one function.
  struct Kind {
    std::vector<unsigned> layers;
    ResolvedBlock resolved;
  };
  std::map<std::string, std::vector<Kind>> kinds;
  auto reporter = [&](Location at) { return error(at); };
  for (const BlockDef &block : spec.blocks) {
    bool perLayer = Spec::perLayerBlock(block.name);
    std::map<std::vector<std::string>, size_t> byValues;
    std::vector<Kind> &list = kinds[block.name];
    for (int64_t l = 0; l < (perLayer ? spec.nLayer : 1); ++l) {
      Kind k;
      if (failed(
              resolveBlock(block, perLayer ? spec.layerSizes(l) : spec.sizes,
                           perLayer ? std::optional<int64_t>(l) : std::nullopt,
                           k.resolved, reporter)))
        return nullptr;
      std::vector<std::string> key;
      for (const ValueDef *v : k.resolved.live)
        key.push_back(v->name);
      for (const auto &[n, ref] : k.resolved.refs)
        key.push_back(n + "=" + (ref.def ? ref.def->name : ref.builtin) + "." +
                      ref.result);
      auto [it, fresh] = byValues.try_emplace(key, list.size());
      if (fresh) {
        list.push_back(std::move(k));
      }
      if (perLayer)
        list[it->second].layers.push_back(static_cast<unsigned>(l));
    }
  }
  auto buildForm = [&](int64_t tokens, StringRef nameSuffix) {
    t = tokens;
    suffix = nameSuffix.str();
    for (const BlockDef &block : spec.blocks) {
      bool perLayer = Spec::perLayerBlock(block.name);
      for (auto [i, kind] : llvm::enumerate(kinds[block.name])) {
        std::string name =
            perLayer ? (block.name + "_" + Twine(i)).str() : block.name;
        buildBlock(block, name, kind.layers, kind.resolved);
        if (hadError)
          return;
      }
    }
  };
  // Activations other than `h` and `tokens` pass between blocks by name
  // (v_first from layer 0's time mix, say): every input a block declares
  // must be an output of a block the runtime calls before it (embed, then
  // per layer time_mix and channel_mix, then head), of the same shape; an
  // input no block produces would read zeros.
  auto checkActivationFlow = [&](StringRef formSuffix) {
    std::map<std::string, std::pair<Type, std::string>> produced;
    std::set<std::string> consumed;
    std::map<std::string, Location> producedAt;
    auto visit = [&](const BlockDef &block, StringRef fnName,
                     const ResolvedBlock &resolved,
                     std::optional<unsigned> layer) {
      auto fn = module.lookupSymbol<func::FuncOp>((fnName + formSuffix).str());
      if (!fn)
        return;
      std::string where =
          "block '" + block.name +
          (layer ? "' in layer " + std::to_string(*layer) : std::string("'"));
      for (const ValueDef *in : resolved.inputs) {
        Type type;
        for (unsigned i = 0; i < fn.getNumArguments(); ++i)
          if (auto a = fn.getArgAttrOfType<StringAttr>(i, kActivationAttr);
              a && a.getValue() == in->name)
            type = fn.getArgument(i).getType();
        auto it = produced.find(in->name);
        if (it == produced.end()) {
          std::vector<std::string> names;
          for (const auto &[n, _] : produced)
            names.push_back(n);
          error(in->loc) << "input '" << in->name << "' of " << where
                         << " is not an output of any block called before "
                            "it (embed, then per layer time_mix and "
                            "channel_mix); outputs before it: "
                         << (names.empty() ? std::string("none")
                                           : llvm::join(names, ", "));
          return;
        }
        if (it->second.first != type) {
          error(in->loc) << "input '" << in->name << "' of " << where << " is "
                         << shapeString(type) << ", but " << it->second.second
                         << " outputs it as " << shapeString(it->second.first);
          return;
        }
        consumed.insert(in->name);
      }
      for (unsigned i = 1; i < fn.getNumResults(); ++i)
        if (auto a = fn.getResultAttrOfType<StringAttr>(i, kActivationAttr)) {
          produced[a.getValue().str()] = {fn.getResultTypes()[i], where};
          for (auto &[n, ref] : resolved.outputs)
            if (n == a.getValue() && ref.def && !ref.def->fromLibrary)
              producedAt.insert({n, ref.def->loc});
        }
    };
    auto kindOf = [&](StringRef blockName, unsigned layer) {
      for (auto [i, kind] : llvm::enumerate(kinds[blockName.str()]))
        if (llvm::is_contained(kind.layers, layer))
          return std::make_pair(i, &kind);
      llvm_unreachable("every layer has a kind");
    };
    visit(spec.block("embed"), "embed", kinds["embed"].front().resolved,
          std::nullopt);
    for (int64_t l = 0; l < spec.nLayer && !hadError; ++l)
      for (const char *name : {"time_mix", "channel_mix"}) {
        auto [i, kind] = kindOf(name, static_cast<unsigned>(l));
        visit(spec.block(name), (Twine(name) + "_" + Twine(i)).str(),
              kind->resolved, static_cast<unsigned>(l));
      }
    if (!hadError)
      visit(spec.block("head"), "head", kinds["head"].front().resolved,
            std::nullopt);
    for (const auto &[name, at] : producedAt)
      if (!hadError && !consumed.count(name))
        emitWarning(at) << "output '" << name
                        << "' is an input of no block called after it";
  };
  if (options.recurrent)
    buildForm(1, "");
  if (options.parallel && !options.recurrent && !hadError)
    buildForm(ShapedType::kDynamic, "_parallel");
  if (!hadError)
    checkActivationFlow(options.recurrent ? "" : "_parallel");
  if (options.parallel && options.recurrent && !hadError)
    buildForm(ShapedType::kDynamic, "_parallel");
  if (options.parallel && options.allLogits && !hadError) {
    allTokens = true;
    buildBlock(spec.block("head"), "head_all", {},
               kinds["head"].front().resolved);
    allTokens = false;
  }
  if (hadError)
    return nullptr;
  for (auto fn : module.getOps<func::FuncOp>())
    orderParamsByFirstUse(fn);
  return owned;
}

} // namespace mlir::rwkv::detail

OwningOpRef<ModuleOp> mlir::rwkv::importSpec(const Spec &spec, MLIRContext *ctx,
                                             const ImportOptions &options) {
  return Importer(spec, ctx, options).run();
}
