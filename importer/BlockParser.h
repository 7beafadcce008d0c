//===- BlockParser.h - TOML tables of the block language --------*- C++ -*-===//

#ifndef RWKV_IMPORTER_BLOCKPARSER_H
#define RWKV_IMPORTER_BLOCKPARSER_H

#include "importer/Block.h"
#include "importer/Toml.h"

#include <optional>

namespace mlir {
namespace rwkv {

/// Parses the values of one block table (`tableName` names it in messages;
/// keys listed in `skip` belong to the caller). Values are located at their
/// key in `path`, or, for a library fragment, at `useLoc` (the spec key that
/// chose it) under the value's name. Appends to `out`, numbering values from
/// `order`. Returns false after reporting an error.
bool parseBlockValues(const toml::table &table, StringRef tableName,
                      StringRef path, std::optional<Location> useLoc,
                      ArrayRef<StringRef> skip, MLIRContext *ctx,
                      std::vector<ValueDef> &out, unsigned &order);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_BLOCKPARSER_H
