// RUN: not rwkv-opt %s -pass-pipeline='builtin.module(func.func(rwkv-tile-sequence{chunk-size=0}))' 2>&1 | FileCheck %s --check-prefix=SEQ
// RUN: not rwkv-opt %s -pass-pipeline='builtin.module(func.func(rwkv-tile-heads{heads-per-tile=0}))' 2>&1 | FileCheck %s --check-prefix=HEADS
// RUN: not rwkv-opt %s -pass-pipeline='builtin.module(func.func(rwkv-tile-rows{rows-per-tile=-1}))' 2>&1 | FileCheck %s --check-prefix=ROWS

// Tests that the tiling passes reject tile sizes below 1 with an error that
// names the pass and the option.

// SEQ: error: rwkv-tile-sequence: chunk-size must be positive, got 0
// HEADS: error: rwkv-tile-heads: heads-per-tile must be positive, got 0
// ROWS: error: rwkv-tile-rows: rows-per-tile must be positive, got -1
func.func @f(%x: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  return %x : tensor<?x?x32xf32>
}
