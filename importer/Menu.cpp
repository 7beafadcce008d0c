//===- Menu.cpp - the component menu as library fragments -----------------===//

#include "importer/Menu.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::rwkv;

namespace {

FragmentUse use(std::string fragment, std::string key,
                std::map<std::string, std::string> scalars = {}) {
  FragmentUse u;
  u.fragment = std::move(fragment);
  u.key = std::move(key);
  u.scalars = std::move(scalars);
  return u;
}

/// The token-shift mix of `inputs` for block prefix `p` ("att"/"ffn").
FragmentUse mixUse(TokenShiftKind kind, StringRef p,
                   const std::vector<std::string> &inputs, std::string key) {
  const char *name = kind == TokenShiftKind::LerpPrevious  ? "mix.lerp_previous"
                     : kind == TokenShiftKind::LerpCurrent ? "mix.lerp_current"
                                                           : "mix.ddlerp";
  // RWKV-6's ddlerp exists in the time mix only (its names are att.*).
  FragmentUse u = kind == TokenShiftKind::DDLerp
                      ? use(name, std::move(key), {})
                      : use(name, std::move(key), {{"p", p.str()}});
  u.lists["m"] = inputs;
  return u;
}

std::vector<FragmentUse> timeMix(const Spec &spec) {
  std::vector<FragmentUse> out;
  out.push_back(
      use("block.input", "time_mix", {{"ln", "ln1"}, {"state", "att_shift"}}));
  out.push_back(mixUse(spec.timeMixShift, "att", spec.timeMixInputs(),
                       "time_mix.token_shift"));
  out.push_back(use(spec.receptance == ReceptanceKind::Sigmoid
                        ? "time_mix.projections.sigmoid"
                        : "time_mix.projections",
                    "time_mix"));
  const char *decay = nullptr;
  switch (spec.decay) {
  case DecayParam::Static:
    decay = spec.wkv == WkvKind::Wkv4 ? "decay.static_log" : "decay.static";
    break;
  case DecayParam::StaticPerHead:
    decay = "decay.static_per_head";
    break;
  case DecayParam::LoraExp:
    decay = "decay.lora_exp";
    break;
  case DecayParam::LoraSigmoid:
    decay = "decay.lora_sigmoid";
    break;
  }
  out.push_back(use(decay, "time_mix.decay"));
  switch (spec.bonus) {
  case BonusKind::TimeFirst:
    out.push_back(use("bonus.time_first", "time_mix.bonus"));
    break;
  case BonusKind::U:
    out.push_back(use("bonus.u", "time_mix.bonus"));
    break;
  case BonusKind::UExp:
    out.push_back(use("bonus.u_exp", "time_mix.bonus"));
    break;
  case BonusKind::UExpPerHead:
    out.push_back(use("bonus.u_exp_per_head", "time_mix.bonus"));
    break;
  case BonusKind::RkAfterNorm:
    break; // after the norm, below
  }
  out.push_back(use(spec.valueResidual ? "value.residual" : "value.plain",
                    "time_mix.value_residual"));
  const char *wkv = spec.wkv == WkvKind::Wkv4   ? "wkv.wkv4"
                    : spec.wkv == WkvKind::Wkv5 ? "wkv.wkv5"
                                                : "wkv.wkv7";
  out.push_back(use(wkv, "time_mix.wkv"));
  out.push_back(use(spec.outputNorm == OutputNormKind::GroupNorm
                        ? "output_norm.group_norm"
                        : "output_norm.none",
                    "norm.group_norm_eps"));
  out.push_back(use(spec.bonus == BonusKind::RkAfterNorm ? "bonus_after.rk"
                                                         : "bonus_after.none",
                    "time_mix.bonus"));
  const char *gate = spec.gate == GateKind::None   ? "gate.none"
                     : spec.gate == GateKind::Silu ? "gate.silu"
                                                   : "gate.lora_sigmoid";
  out.push_back(use(gate, "time_mix.gate"));
  out.push_back(
      use(spec.residualBias ? "time_mix.output.biased" : "time_mix.output",
          "time_mix"));
  return out;
}

std::vector<FragmentUse> channelMix(const Spec &spec) {
  std::vector<FragmentUse> out;
  bool gated = spec.channelMix == ChannelMixKind::ReluSquareGated;
  out.push_back(use("block.input", "channel_mix",
                    {{"ln", "ln2"}, {"state", "ffn_shift"}}));
  out.push_back(
      mixUse(spec.channelMixShift, "ffn", {"k"}, "channel_mix.token_shift"));
  out.push_back(use(spec.residualBias ? "channel_mix.relu_square.biased"
                                      : "channel_mix.relu_square",
                    "channel_mix.kind"));
  if (gated) {
    out.push_back(
        mixUse(spec.channelMixShift, "ffn", {"r"}, "channel_mix.token_shift"));
    out.push_back(use("channel_mix.receptance", "channel_mix.kind"));
  }
  out.push_back(use("channel_mix.output", "channel_mix",
                    {{"o", gated ? "o_gated" : "o"}}));
  return out;
}

} // namespace

std::vector<FragmentUse> mlir::rwkv::menuFragments(const Spec &spec,
                                                   StringRef block) {
  if (block == "embed")
    return {use(spec.ln0 ? "embed.ln0" : "embed",
                spec.ln0 ? "norm.ln0" : "model.vocab_size")};
  if (block == "head")
    return {use(spec.headBias ? "head.biased" : "head",
                spec.headBias ? "model.head_bias" : "model.vocab_size")};
  if (block == "time_mix")
    return timeMix(spec);
  return channelMix(spec);
}

std::string mlir::rwkv::instantiateFragment(StringRef text,
                                            const FragmentUse &given) {
  // {count}: the length of the list placeholder ({m}, else the first one).
  FragmentUse use = given;
  if (!use.lists.empty()) {
    auto m = use.lists.find("m");
    const auto &list =
        m != use.lists.end() ? m->second : use.lists.begin()->second;
    use.scalars["count"] = std::to_string(list.size());
  }
  auto substitute = [&](std::string line) {
    for (const auto &[name, value] : use.scalars) {
      std::string field = "{" + name + "}";
      for (size_t at = line.find(field); at != std::string::npos;
           at = line.find(field, at + value.size()))
        line.replace(at, field.size(), value);
    }
    return line;
  };
  std::string out;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef line : lines) {
    const std::pair<const std::string, std::vector<std::string>> *list =
        nullptr;
    for (const auto &entry : use.lists)
      if (line.contains("{" + entry.first + "}"))
        list = &entry;
    if (!list) {
      out += substitute(line.str()) + "\n";
      continue;
    }
    for (auto [i, element] : llvm::enumerate(list->second)) {
      std::string expanded = line.str();
      std::string field = "{" + list->first + "}";
      for (size_t at = expanded.find(field); at != std::string::npos;
           at = expanded.find(field, at + element.size()))
        expanded.replace(at, field.size(), element);
      for (size_t at = expanded.find("{i}"); at != std::string::npos;
           at = expanded.find("{i}", at + 1))
        expanded.replace(at, 3, std::to_string(i));
      out += substitute(expanded) + "\n";
    }
  }
  return out;
}
