//===- spec-fuzzer.cpp - libFuzzer harness for the spec importer ----------===//
//
// Feeds arbitrary bytes as a spec (TOML) to parseSpec, imports what it
// accepts into rwkv IR (both forms, the block language, the fragment
// library) and verifies the module. Diagnostics are the expected outcome of
// a bad spec; any crash, sanitizer report, hang or assertion is a bug. A
// fresh MLIRContext per input keeps inputs independent.
//
//===----------------------------------------------------------------------===//

#include "importer/Importer.h"
#include "importer/Spec.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext ctx;
  ctx.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler quiet(
      &ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  std::optional<mlir::rwkv::Spec> spec =
      mlir::rwkv::parseSpec(text, "fuzz.toml", &ctx);
  if (!spec)
    return 0;
  mlir::rwkv::ImportOptions options;
  if (mlir::OwningOpRef<mlir::ModuleOp> module =
          mlir::rwkv::importSpec(*spec, &ctx, options))
    (void)mlir::verify(*module);
  return 0;
}
