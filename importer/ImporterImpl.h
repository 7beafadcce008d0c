//===- ImporterImpl.h - the block-language importer's internals -*- C++ -*-===//
//
// Private to importer/: the Importer class that builds rwkv IR from a
// spec's resolved blocks. Importer.cpp holds the driver (block kinds,
// function signatures, the module); EmitOps.cpp the op table and what each
// op of the language builds.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_IMPORTERIMPL_H
#define RWKV_IMPORTER_IMPORTERIMPL_H

#include "importer/Importer.h"

#include "dialect/RwkvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::rwkv::detail {

/// What the importer knows about one op of the language: its operand count
/// (from `minArgs` to `maxArgs`; 64 means "at least minArgs"), its result
/// names (one unnamed result when empty) and its attributes.
struct OpInfo {
  const char *name;
  unsigned minArgs, maxArgs;
  std::vector<const char *> results;
  std::vector<const char *> attrs;
  const char *operands; ///< operand names, for messages
};

/// The ops of the block language, in the order docs/spec.md lists them.
const std::vector<OpInfo> &opTable();
/// The table's entry for `name`, or null.
const OpInfo *findOp(StringRef name);

/// "[batch, tokens, 128]": a tensor type as the messages show it.
std::string shapeString(Type type);

class Importer {
public:
  Importer(const Spec &spec, MLIRContext *ctx, const ImportOptions &options)
      : spec(spec), ctx(ctx), builder(ctx), options(options) {}

  OwningOpRef<ModuleOp> run();

private:
  Type f32() { return builder.getF32Type(); }
  RankedTensorType act(int64_t width, int64_t tokens) {
    return RankedTensorType::get({ShapedType::kDynamic, tokens, width}, f32());
  }
  RankedTensorType act(int64_t width) { return act(width, t); }
  RankedTensorType paramType(const ParamInfo &p) {
    if (p.dtype == "q8_0") // [out, in] as ggml Q8_0 blocks (rwkv.linear)
      return RankedTensorType::get(
          {p.shape[0], p.shape[1] / kQ8BlockSize, kQ8BlockBytes},
          builder.getI8Type());
    Type element = p.dtype == "bf16" ? Type(builder.getBF16Type()) : f32();
    return RankedTensorType::get(p.shape, element);
  }
  const ParamInfo &param(StringRef name) {
    for (const ParamInfo &p : spec.parameters())
      if (p.name == name)
        return p;
    llvm_unreachable("parameter missing from the catalog");
  }
  InFlightDiagnostic error(Location at) {
    hadError = true;
    return emitError(at);
  }

  Value emptyLike(Value like, Location loc);
  Value broadcastLike(Value vec, Value like, Location loc);
  Value headsToChannels(Value perHead, Location loc);
  Value paramAs(const ValueDef &p, Value stored, StoredAs wanted, Location loc);
  Value lora(Value x, Value down, Value up, Value bias, Activation inner,
             Activation outer, Location loc);

  /// The Value a name refers to in the function being built.
  Value lookup(const ValueRef &ref);
  /// Why `ref` names no result of its op, for messages.
  std::string noSuchResult(const ValueRef &ref);
  /// Where a value came from, for messages: "'k' (linear at file:3:1)".
  std::string describe(StringRef name);
  /// Builds the ops of one value; false after an error.
  bool emit(const ValueDef &v);
  /// Checks that operands first … first + roles.size() − 1 of `v` are states
  /// whose `next` is this op's result `results[i]` (a cache the op
  /// advances); false after an error naming `roles[i]`.
  bool advancedStates(const ValueDef &v, unsigned first,
                      ArrayRef<const char *> roles,
                      ArrayRef<const char *> results);
  /// Checks that operand `arg` of `v` is a position counter for a table of
  /// `rows` positions (what `what` names): a [1] state whose max_tokens is
  /// at most `rows`, advanced by a wkv1 or at_position op that reads it as
  /// its position; false after an error.
  bool positionCounter(const ValueDef &v, unsigned arg, int64_t rows,
                       StringRef what);
  /// Reads attribute `key` of `v` as a float: a number, or the name of a
  /// spec epsilon ("layer_norm_eps", "group_norm_eps").
  std::optional<float> floatAttr(const ValueDef &v, StringRef key,
                                 std::optional<float> fallback);
  std::optional<int64_t> sizeAttr(const ValueDef &v, StringRef key,
                                  std::optional<int64_t> fallback);
  std::optional<std::string> stringAttr(const ValueDef &v, StringRef key,
                                        std::optional<std::string> fallback);
  std::optional<Activation> activationAttr(const ValueDef &v, StringRef key);

  /// Reads attribute `key` of `v` as a list of positive size expressions.
  std::optional<std::vector<int64_t>> shapeAttr(const ValueDef &v,
                                                StringRef key);
  /// Reinterprets the per-token part of activation `x` as `shape`.
  Value reshapePerToken(Value x, ArrayRef<int64_t> shape, Location loc);
  /// Builds an `einsum` value (null after an error).
  Value einsum(const ValueDef &v, ArrayRef<Value> in);

  void buildBlock(const BlockDef &block, StringRef name,
                  ArrayRef<unsigned> layers, const ResolvedBlock &resolved);

  const Spec &spec;
  MLIRContext *ctx;
  OpBuilder builder;
  ImportOptions options;
  bool hadError = false;
  /// Tokens per call of the form being built: 1, or dynamic.
  int64_t t = 1;
  /// "" for the recurrent form, "_parallel" for the parallel one.
  std::string suffix;
  /// Building the head over every token (head_all).
  bool allTokens = false;
  ModuleOp module;

  // The function being built.
  const ResolvedBlock *current = nullptr;
  SizeEnv env;
  std::map<const ValueDef *, SmallVector<Value>> built;
  std::map<std::string, Value> builtins;
};

} // namespace mlir::rwkv::detail

#endif // RWKV_IMPORTER_IMPORTERIMPL_H
