//===- GpuKernels.cpp - building blocks of the generated GPU kernels ------===//

#include "passes/GpuKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::gpukernels;

KernelNamer::KernelNamer(func::FuncOp fn) : prefix(fn.getSymName().str()) {
  fn.walk([&](gpu::LaunchOp op) {
    if (auto f = op.getFunctionAttr())
      used.insert(f.getValue());
  });
}

std::string KernelNamer::operator()(StringRef what) {
  std::string base = prefix + "_" + what.str();
  std::string name = base;
  for (int n = 1; used.contains(name); ++n)
    name = base + "_" + std::to_string(n);
  used.insert(name);
  return name;
}

Value gpukernels::readBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memref = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, loc, memref, tensor,
                                           /*read_only=*/true);
}

SmallVector<Value> gpukernels::dynamicSizes(OpBuilder &b, Location loc,
                                            Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, loc, tensor, d));
  return sizes;
}

Value gpukernels::allocResult(OpBuilder &b, Location loc, RankedTensorType type,
                              ValueRange dynamic) {
  auto memref = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, memref, dynamic);
}

Value gpukernels::resultTensor(OpBuilder &b, Location loc, Value buffer) {
  auto memref = cast<MemRefType>(buffer.getType());
  auto tensor =
      RankedTensorType::get(memref.getShape(), memref.getElementType());
  return bufferization::ToTensorOp::create(b, loc, tensor, buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

//===----------------------------------------------------------------------===//
// DeviceBuilder
//===----------------------------------------------------------------------===//

Value DeviceBuilder::index(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value DeviceBuilder::f32(double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}
Value DeviceBuilder::add(Value x, Value y) {
  if (x.getType().isIndex())
    return arith::AddIOp::create(b, loc, x, y);
  return arith::AddFOp::create(b, loc, x, y);
}
Value DeviceBuilder::sub(Value x, Value y) {
  if (x.getType().isIndex())
    return arith::SubIOp::create(b, loc, x, y);
  return arith::SubFOp::create(b, loc, x, y);
}
Value DeviceBuilder::mul(Value x, Value y) {
  if (x.getType().isIndex())
    return arith::MulIOp::create(b, loc, x, y);
  return arith::MulFOp::create(b, loc, x, y);
}
Value DeviceBuilder::div(Value x, Value y) {
  if (x.getType().isIndex())
    return arith::DivUIOp::create(b, loc, x, y);
  return arith::DivFOp::create(b, loc, x, y);
}
Value DeviceBuilder::rem(Value x, Value y) {
  return arith::RemUIOp::create(b, loc, x, y);
}
Value DeviceBuilder::min(Value x, Value y) {
  return arith::MinUIOp::create(b, loc, x, y);
}
Value DeviceBuilder::ceilDiv(Value x, int64_t d) {
  return arith::CeilDivUIOp::create(b, loc, x, index(d));
}
Value DeviceBuilder::lt(Value x, Value y) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
}
Value DeviceBuilder::eq(Value x, Value y) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
}
Value DeviceBuilder::andI(Value x, Value y) {
  return arith::AndIOp::create(b, loc, x, y);
}
Value DeviceBuilder::select(Value c, Value x, Value y) {
  return arith::SelectOp::create(b, loc, c, x, y);
}
Value DeviceBuilder::fma(Value x, Value y, Value z) {
  return math::FmaOp::create(b, loc, x, y, z);
}
Value DeviceBuilder::maxF(Value x, Value y) {
  return arith::MaximumFOp::create(b, loc, x, y);
}
Value DeviceBuilder::exp(Value x) { return math::ExpOp::create(b, loc, x); }
Value DeviceBuilder::sigmoid(Value x) {
  Value one = f32(1.0);
  Value e = exp(arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, add(one, e));
}

Value DeviceBuilder::load(Value memref, ValueRange indices) {
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  if (v.getType() != b.getF32Type() && isa<FloatType>(v.getType()))
    v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  return v;
}

void DeviceBuilder::store(Value v, Value memref, ValueRange indices) {
  memref::StoreOp::create(b, loc, v, memref, indices);
}

Value DeviceBuilder::warpSum(Value v) {
  for (int32_t offset = kWarpSize / 2; offset >= 1; offset /= 2) {
    auto shuffle = gpu::ShuffleOp::create(b, loc, v, offset, kWarpSize,
                                          gpu::ShuffleMode::XOR);
    v = add(v, shuffle.getShuffleResult());
  }
  return v;
}

void DeviceBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op.thenBlock()->getTerminator());
  body();
}

//===----------------------------------------------------------------------===//
// Launches
//===----------------------------------------------------------------------===//

MemRefType gpukernels::sharedMemRefType(MLIRContext *ctx,
                                        ArrayRef<int64_t> shape) {
  auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  return MemRefType::get(shape, Float32Type::get(ctx),
                         MemRefLayoutAttrInterface(), space);
}

gpu::LaunchOp gpukernels::launch(
    OpBuilder &b, Location loc, StringRef name, std::array<Value, 3> grid,
    int64_t blockX, int64_t blockY, ArrayRef<MemRefType> shared,
    function_ref<void(DeviceBuilder &, const LaunchIds &)> body) {
  MLIRContext *ctx = b.getContext();
  DeviceBuilder host{b, loc};
  SmallVector<Type> sharedTypes(shared.begin(), shared.end());
  auto op = gpu::LaunchOp::create(
      b, loc, grid[0], grid[1], grid[2], host.index(blockX), host.index(blockY),
      host.index(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes, /*privateAttributions=*/{},
      /*clusterSizeX=*/nullptr, /*clusterSizeY=*/nullptr,
      /*clusterSizeZ=*/nullptr, FlatSymbolRefAttr::get(ctx, kKernelModule),
      FlatSymbolRefAttr::get(ctx, name));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getBody().front());
  DeviceBuilder d{b, loc};
  LaunchIds ids{op.getBlockIds().x,  op.getBlockIds().y,  op.getBlockIds().z,
                op.getThreadIds().x, op.getThreadIds().y, {}};
  for (BlockArgument a : op.getWorkgroupAttributions())
    ids.shared.push_back(a);
  body(d, ids);
  gpu::TerminatorOp::create(b, loc);
  return op;
}

gpu::LaunchOp gpukernels::launchElements(
    OpBuilder &b, Location loc, StringRef name, Value total,
    function_ref<void(DeviceBuilder &, Value linear)> body) {
  constexpr int64_t kBlock = 256;
  DeviceBuilder host{b, loc};
  Value one = host.index(1);
  return launch(b, loc, name, {host.ceilDiv(total, kBlock), one, one}, kBlock,
                1, {}, [&](DeviceBuilder &d, const LaunchIds &ids) {
                  Value linear =
                      d.add(d.mul(ids.blockX, d.index(kBlock)), ids.threadX);
                  d.ifThen(d.lt(linear, total), [&] { body(d, linear); });
                });
}

SmallVector<Value> gpukernels::delinearize(DeviceBuilder &d, Value linear,
                                           ArrayRef<Value> sizes) {
  SmallVector<Value> coords(sizes.size());
  for (size_t i = sizes.size(); i-- > 0;) {
    if (i == 0) {
      coords[i] = linear;
      break;
    }
    coords[i] = d.rem(linear, sizes[i]);
    linear = d.div(linear, sizes[i]);
  }
  return coords;
}
