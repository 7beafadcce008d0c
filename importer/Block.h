//===- Block.h - the block language of specs --------------------*- C++ -*-===//
//
// A block (embed, time_mix, channel_mix, head) is a dataflow graph of named
// values, written in a spec as one TOML table whose keys are value names.
// Each value is one of
//
//   { op = "lerp", args = ["x", "shift.shifted", "att.x_r"], ... }  an op
//   { param = "blocks.{layer}.att.x_r", shape = ["d_model"], ... }  a weight
//   { state = ["d_model"], next = "shift.last", init = 0.0 }         a state
//   { input = ["d_model"] }                             an activation input
//
// and may carry `when = "layer >= 1"` (present only in some layers),
// `otherwise = "v_lin"` (what the name means where it is absent) and
// `output = "h"` (the block returns it under that name). The built-in
// inputs are `h` (the residual stream, [B, T, d_model]) and `tokens`
// ([B, T] token ids). docs/spec.md is the language reference.
//
// The component menu of `[time_mix]`/`[channel_mix]` is a library of
// fragments written in the same language (specs/library/*.toml, compiled
// into the importer); a block is the union of its fragments' values and the
// values a spec writes itself.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_BLOCK_H
#define RWKV_IMPORTER_BLOCK_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mlir {
namespace rwkv {

struct TensorBinding;

/// Named integer sizes (d_model, head_size, n_head, ranks, [sizes] keys and,
/// inside a layer, `layer`) that expressions refer to.
using SizeEnv = llvm::StringMap<int64_t>;

/// Evaluates an integer expression: integers, size names, + - * / %,
/// comparisons (== != < <= > >=, giving 0 or 1), && || ! and parentheses.
/// Division by zero, overflow and unknown names are errors (`why` is set).
std::optional<int64_t> evalExpr(StringRef text, const SizeEnv &env,
                                std::string &why);

/// Expands a checkpoint name template: each `{expr}` is replaced by the value
/// of the integer expression `expr` (`{layer}`, `{layer+1}`, ...).
std::optional<std::string> expandTemplate(StringRef tmpl, const SizeEnv &env,
                                          std::string &why);

/// True when `tmpl` mentions `layer` in one of its `{...}` fields.
bool templateUsesLayer(StringRef tmpl);

/// An attribute of an op value: any TOML scalar, or an array of them.
using AttrScalar = std::variant<int64_t, double, bool, std::string>;
struct AttrValue {
  std::vector<AttrScalar> items; ///< one element unless `isArray`
  bool isArray = false;
  LocationAttr loc;
};

/// What a value of a block is.
enum class ValueKind { Op, Param, State, Input };

/// One named value of a block.
struct ValueDef {
  std::string name;
  ValueKind kind = ValueKind::Op;
  LocationAttr loc;   ///< NameLoc(name, spec key the value comes from)
  unsigned order = 0; ///< declaration order (ties in the emission order)

  // Op values.
  std::string op;
  std::vector<std::string> args;
  std::map<std::string, AttrValue> attrs;
  std::string output; ///< block result this value is ("" if none)

  // Presence.
  std::string when;      ///< condition over `layer` ("" = every layer)
  std::string otherwise; ///< alias where absent ("" = the value is absent)
  /// Replaces a library fragment's value of the same name (else that is a
  /// double definition).
  bool override = false;
  /// Comes from a library fragment (not written in the spec itself).
  bool fromLibrary = false;

  // Parameters, states and inputs: shape as size expressions.
  std::vector<std::string> shape;
  // Parameters.
  std::string bindingName; ///< checkpoint name template
  bool transpose = false;
  int64_t index = -1;
  std::string storedAs = "raw";
  /// Projection class, read in the spec's precision for it: "" (not a
  /// projection: f32), "linear" (`projection = true`: precision.weights),
  /// "lora" (a LoRA factor: precision.lora) or "head" (precision.head).
  std::string projection;
  std::vector<double> init; ///< [lo, hi] uniform, [c] constant, [] default
  // States.
  std::string next; ///< value that becomes the state after the block
  double stateInit = 0.0;
  /// A token counter: the state holds how many tokens the sequence has
  /// seen, and the runtime refuses to feed it past this many (size
  /// expression; "" for ordinary states).
  std::string maxTokens;
};

/// One block: its values in declaration order.
struct BlockDef {
  std::string name; ///< "embed", "time_mix", "channel_mix" or "head"
  std::vector<ValueDef> values;
  LocationAttr loc;
  /// Finds a value by name (nullptr if none).
  const ValueDef *find(StringRef name) const;
};

/// What a name in an op's `args` (or a state's `next`, or an output) refers
/// to in one layer: a value (and one of its results), or a built-in input.
struct ValueRef {
  const ValueDef *def = nullptr; ///< nullptr for a built-in input
  std::string builtin;           ///< "h" or "tokens" when def is null
  std::string result;            ///< result name of a multi-result op
};

/// A block as it is in one layer: the values present and needed, and what
/// every name refers to.
struct ResolvedBlock {
  /// Op values to build, operands before users, ties in declaration order.
  std::vector<const ValueDef *> ops;
  /// Live parameters, states and activation inputs, in declaration order.
  std::vector<const ValueDef *> params, states, inputs;
  /// Built-in inputs that are used ("h", "tokens").
  std::vector<std::string> builtins;
  /// (output name, value), "h"/"logits" first.
  std::vector<std::pair<std::string, ValueRef>> outputs;
  /// Every name used by a live value, resolved.
  std::map<std::string, ValueRef> refs;
  /// Every value that is live in this layer.
  std::vector<const ValueDef *> live;
};

/// Resolves `block` for one layer (`layer` is set in `env` for per-layer
/// blocks): presence (`when`/`otherwise`), names, liveness from the outputs
/// and the states' `next`, and a topological order; reports undefined names,
/// absent values that are used, and cycles at `error`, naming the layer.
LogicalResult
resolveBlock(const BlockDef &block, const SizeEnv &env,
             std::optional<int64_t> layer, ResolvedBlock &out,
             llvm::function_ref<InFlightDiagnostic(Location)> error);

/// The blocks a model is made of, in the order the runtime calls them.
extern const char *const kBlockNames[4];

/// True when `name` is one of kBlockNames.
bool isBlockName(StringRef name);

/// Source of the library fragment `name` (specs/library/<name>.toml), or
/// nullptr when there is none.
const char *libraryFragment(StringRef name);
/// Names of every library fragment, sorted.
std::vector<std::string> libraryFragmentNames();

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_BLOCK_H
