//===- rwkv-opt.cpp - mlir-opt with the rwkv dialect and passes -----------===//
//
// Parses IR in the rwkv dialect and the upstream dialects it lowers through,
// and runs any registered pass or pipeline on it, e.g.
//   rwkv-opt model.mlir --rwkv-cpu-pipeline
//   rwkv-opt model.mlir
//   --pass-pipeline='builtin.module(convert-rwkv-to-linalg)'
//
//===----------------------------------------------------------------------===//

#include "passes/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/PrettyStackTrace.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::rwkv::registerCompilerDialects(registry);
  mlir::rwkv::registerCompilerPasses();
  // What is registered before MlirOptMain is LLVM's own (code generation,
  // every backend): hidden, but listed by --help-hidden. MlirOptMain then adds
  // mlir-opt's options and the pass list, which --help shows.
  for (auto &entry : llvm::cl::getRegisteredOptions())
    if (entry.second->getOptionHiddenFlag() == llvm::cl::NotHidden &&
        !entry.first.starts_with("help") && entry.first != "version")
      entry.second->setHiddenFlag(llvm::cl::Hidden);
  llvm::setBugReportMsg("rwkv-opt crashed. Please report the input and the "
                        "command line; --mlir-pass-pipeline-crash-reproducer="
                        "FILE writes a replayable reproducer.\n");
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rwkv-mlir optimizer driver\n", registry));
}
