//===- Menu.h - the component menu as library fragments ---------*- C++ -*-===//
//
// The `[time_mix]` / `[channel_mix]` component keys choose library
// fragments (specs/library/*.toml); this is the whole of the menu: every
// component is written in the block language, and the importer has one
// path, blocks -> rwkv IR.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_MENU_H
#define RWKV_IMPORTER_MENU_H

#include "importer/Spec.h"

#include <map>
#include <string>
#include <vector>

namespace mlir {
namespace rwkv {

/// One use of a library fragment: its name, the values of its `{name}`
/// placeholders (a list placeholder repeats every line that mentions it,
/// once per element, with `{i}` the element's index) and the spec key the
/// choice was made at (the fragment's values are located there).
struct FragmentUse {
  std::string fragment;
  std::map<std::string, std::string> scalars;
  std::map<std::string, std::vector<std::string>> lists;
  std::string key;
};

/// The fragments the menu keys of `spec` choose for block `block`
/// ("embed", "time_mix", "channel_mix" or "head"), in emission order.
std::vector<FragmentUse> menuFragments(const Spec &spec, StringRef block);

/// Instantiates the text of a fragment for `use` (placeholders replaced,
/// list lines repeated, `{count}` the list's length). `{layer...}` fields
/// are left for the templates.
std::string instantiateFragment(StringRef text, const FragmentUse &use);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_MENU_H
