# -*- Python -*-
# lit configuration for rwkv-mlir.

import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "RWKV-MLIR"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".toml", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.rwkv_obj_root, "test")
# Inputs used by RUN lines of other tests, not tests themselves.
config.excludes = ["Inputs", "fuzz", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "unit"]

llvm_config.use_default_substitutions()
# `not` and `count` at the start of a command come from PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# Helper scripts of the tests run under the interpreter that runs lit.
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%specs", os.path.join(config.rwkv_src_root, "specs")))
config.substitutions.append(("%shared_data", config.rwkv_shared_data))

# The tiny trained checkpoints live outside the repository; tests that read
# them say `REQUIRES: shared-data`.
if os.path.isdir(os.path.join(config.rwkv_shared_data, "rwkvcpp-tiny")):
    config.available_features.add("shared-data")
else:
    lit_config.note("../shared/data not found: tests that need the tiny "
                    "checkpoints are UNSUPPORTED")

if config.rwkv_sanitize.upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("asan")

# The CUDA toolkit (libdevice, ptxas, fatbinary) for the NVIDIA GPU tests:
# $CUDA_HOME, else /usr/local/cuda. Tests that need it say `REQUIRES: ptxas`
# and report as UNSUPPORTED without it. No GPU is needed.
cuda_path = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
ptxas = os.path.join(cuda_path, "bin", "ptxas")
if os.access(ptxas, os.X_OK) and os.path.isfile(
        os.path.join(cuda_path, "nvvm", "libdevice", "libdevice.10.bc")):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(("%cuda_path", cuda_path))
    config.substitutions.append(("%fake_cuda", config.rwkv_fake_cuda))
else:
    lit_config.note(ptxas + " not found: the GPU code generation tests are "
                    "UNSUPPORTED (set CUDA_HOME to a CUDA toolkit)")

tool_dirs = [config.rwkv_tools_dir, config.llvm_tools_dir]
tools = ["rwkv-opt", "rwkvc", "rwkv-run", "rwkv-long-run"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
