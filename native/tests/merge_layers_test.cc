// Float64 checks of the merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum) and the reshaping
// layers (RepeatVector, Reshape, Flatten): hand values, central-difference gradients of L = sum(R * output) with
// respect to every input, the masks they pass on, and the shape errors.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.h"
#include "ops/merge_layers.h"
#include "ops/reshape_layers.h"

namespace {

using namespace rnnkit::ops;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;

constexpr int64_t kBatch = 3;

struct Inputs {
  std::vector<Shape> shapes;               // per sample
  std::vector<std::vector<double>> values;  // [kBatch, ...shape] each
  std::vector<const SequenceWindows*> windows;
};

Inputs randomInputs(const std::vector<Shape>& shapes, uint32_t seed) {
  Inputs in;
  in.shapes = shapes;
  for (size_t k = 0; k < shapes.size(); ++k) {
    in.values.push_back(randomVector(kBatch * shapeSize(shapes[k]), seed + static_cast<uint32_t>(k)));
    in.windows.push_back(nullptr);
  }
  return in;
}

std::vector<Activations<double>> activationsOf(const Inputs& in) {
  std::vector<Activations<double>> list;
  for (size_t k = 0; k < in.values.size(); ++k) {
    list.push_back({in.values[k].data(), kBatch, in.shapes[k], in.windows[k]});
  }
  return list;
}

Activations<double> run(LayerOp<double>& op, const Inputs& in) {
  std::mt19937 rng(1);
  return op.forwardAll(activationsOf(in), kGradientPass, rng).at(0);
}

std::vector<double> outputOf(LayerOp<double>& op, const Inputs& in) {
  const Activations<double> out = run(op, in);
  return std::vector<double>(out.data, out.data + out.batch * shapeSize(out.shape));
}

// Backward of L = sum(R * output) against central differences, for every input.
void checkGradients(const std::string& what, LayerOp<double>& op, Inputs in) {
  const Activations<double> out = run(op, in);
  const std::vector<double> weights = randomVector(out.batch * shapeSize(out.shape), 99);
  std::vector<std::vector<double>> analytic;
  std::vector<double*> slots;
  for (const auto& values : in.values) analytic.emplace_back(values.size(), -7.0);  // overwritten, never added to
  for (auto& grad : analytic) slots.push_back(grad.data());
  op.backwardAll({weights.data()}, slots);
  for (size_t k = 0; k < in.values.size(); ++k) {
    auto loss = [&] {
      const std::vector<double> y = outputOf(op, in);
      double sum = 0;
      for (size_t i = 0; i < y.size(); ++i) sum += weights[i] * y[i];
      return sum;
    };
    expectGradient(what + " input " + std::to_string(k), analytic[k], numericGradient(loss, in.values[k]));
  }
}

template <typename Fn>
std::string errorOf(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const MergeOperation kOperations[] = {MergeOperation::Add, MergeOperation::Subtract, MergeOperation::Multiply,
                                      MergeOperation::Average, MergeOperation::Maximum};

RNNKIT_TEST("merge: element-wise hand values for 2 and 3 inputs") {
  Inputs in;
  in.shapes = {{2}, {2}, {2}};
  // Sample 0 of each input; the other samples repeat it shifted by the sample index.
  in.values = {{1, -2}, {3, 5}, {-4, 0.5}};
  for (auto& v : in.values) {
    const std::vector<double> first = v;
    for (int64_t b = 1; b < kBatch; ++b) for (double x : first) v.push_back(x + b);
  }
  in.windows = {nullptr, nullptr, nullptr};
  Inputs two = in;
  two.shapes.pop_back();
  two.values.pop_back();
  two.windows.pop_back();
  ElementwiseMergeLayer<double> add(MergeOperation::Add), sub(MergeOperation::Subtract), mul(MergeOperation::Multiply),
      avg(MergeOperation::Average), max(MergeOperation::Maximum);
  RNNKIT_CHECK(outputOf(add, in)[0] == 0 && outputOf(add, in)[1] == 3.5, "add");
  RNNKIT_CHECK(outputOf(sub, two)[0] == -2 && outputOf(sub, two)[1] == -7, "subtract");
  RNNKIT_CHECK(outputOf(mul, in)[0] == -12 && outputOf(mul, in)[1] == -5, "multiply");
  RNNKIT_CHECK(outputOf(avg, in)[0] == 0 && std::fabs(outputOf(avg, in)[1] - 3.5 / 3) < 1e-15, "average");
  RNNKIT_CHECK(outputOf(max, in)[0] == 3 && outputOf(max, in)[1] == 5, "maximum");
  // Sample 2 of add: (1+2) + (3+2) + (-4+2) = 6.
  RNNKIT_CHECK(outputOf(add, in)[4] == 6, "add, sample 2: " << outputOf(add, in)[4]);
}

RNNKIT_TEST("merge: element-wise gradients of every input (float64, 2 and 3 inputs, [T, F] and [F])") {
  for (MergeOperation operation : kOperations) {
    for (size_t count : {2, 3}) {
      if (operation == MergeOperation::Subtract && count == 3) continue;
      for (const Shape& shape : {Shape{4, 3}, Shape{5}}) {
        ElementwiseMergeLayer<double> op(operation);
        checkGradients("operation " + std::to_string(static_cast<int>(operation)) + " x" + std::to_string(count) +
                           " " + shapeToString(shape),
                       op, randomInputs(std::vector<Shape>(count, shape), 10));
      }
    }
  }
}

RNNKIT_TEST("maximum: the gradient goes to the first input holding the maximum (ties as tf.maximum)") {
  Inputs in;
  in.shapes = {{3}, {3}, {3}};
  in.values = {std::vector<double>(kBatch * 3, 1.0), std::vector<double>(kBatch * 3, 1.0),
               std::vector<double>(kBatch * 3, 0.0)};
  in.values[2][1] = 2.0;  // sample 0, feature 1: input 2 wins alone
  in.windows = {nullptr, nullptr, nullptr};
  ElementwiseMergeLayer<double> op(MergeOperation::Maximum);
  run(op, in);
  const std::vector<double> dOut(kBatch * 3, 1.0);
  std::vector<double> d0(kBatch * 3), d1(kBatch * 3), d2(kBatch * 3);
  op.backwardAll({dOut.data()}, {d0.data(), d1.data(), d2.data()});
  RNNKIT_CHECK(d0[0] == 1 && d1[0] == 0 && d2[0] == 0, "a tie between inputs 0 and 1 goes to input 0");
  RNNKIT_CHECK(d0[1] == 0 && d1[1] == 0 && d2[1] == 1, "the strict maximum takes it all");
}

RNNKIT_TEST("concatenate: hand values and gradients along every axis, including the time axis") {
  Inputs in;
  in.shapes = {{2, 1}, {2, 2}};
  in.values = {{1, 2, 0, 0, 0, 0}, {3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0}};
  in.windows = {nullptr, nullptr};
  ConcatenateLayer<double> features(-1);
  const Activations<double> out = run(features, in);
  RNNKIT_CHECK(out.shape == Shape({2, 3}), "shape " << shapeToString(out.shape));
  const std::vector<double> expected{1, 3, 4, 2, 5, 6};
  for (size_t i = 0; i < expected.size(); ++i) RNNKIT_CHECK(out.data[i] == expected[i], "value " << i);

  ConcatenateLayer<double> time(1);
  Inputs timeInputs = in;
  timeInputs.shapes = {{1, 2}, {2, 2}};
  const Activations<double> joined = run(time, timeInputs);
  RNNKIT_CHECK(joined.shape == Shape({3, 2}), "time shape " << shapeToString(joined.shape));
  const std::vector<double> expectedTime{1, 2, 3, 4, 5, 6};
  for (size_t i = 0; i < expectedTime.size(); ++i) RNNKIT_CHECK(joined.data[i] == expectedTime[i], "time value " << i);

  for (int64_t axis : {1, 2, 3, -1, -2, -3}) {
    std::vector<Shape> shapes{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}};
    const int64_t sampleAxis = axis < 0 ? 3 + axis : axis - 1;
    shapes[1][sampleAxis] = 1;
    shapes[2][sampleAxis] = 2;
    ConcatenateLayer<double> op(axis);
    checkGradients("concatenate axis " + std::to_string(axis), op, randomInputs(shapes, 20));
  }
}

RNNKIT_TEST("merge masks: the intersection of the windows, only while the time axis remains") {
  SequenceWindows a{{0, 2, 1}, {4, 5, 2}}, b{{1, 0, 3}, {5, 3, 5}};
  Inputs in = randomInputs({{5, 2}, {5, 2}, {5, 2}}, 30);
  in.windows = {&a, nullptr, &b};
  ElementwiseMergeLayer<double> add(MergeOperation::Add);
  const Activations<double> out = run(add, in);
  RNNKIT_CHECK(out.windows, "add of masked sequences carries a mask");
  RNNKIT_CHECK((out.windows->start == std::vector<int32_t>{1, 2, 0}), "start " << out.windows->start[0]);
  RNNKIT_CHECK((out.windows->end == std::vector<int32_t>{4, 3, 0}), "end (sample 2 empty)");
  // Merges do not zero masked rows (neither does Keras), so the gradient of a masked row is the plain gradient.
  const std::vector<double> dOut = randomVector(kBatch * 10, 31);
  std::vector<double> d0(kBatch * 10);
  add.backwardAll({dOut.data()}, {d0.data(), nullptr, nullptr});
  for (size_t i = 0; i < d0.size(); ++i) RNNKIT_CHECK(d0[i] == dOut[i], "add passes the gradient of row " << i);

  ConcatenateLayer<double> features(-1);
  Inputs two = randomInputs({{5, 2}, {5, 3}}, 32);
  two.windows = {&a, &b};
  const Activations<double> joined = run(features, two);
  RNNKIT_CHECK(joined.windows && joined.windows->start[1] == 2 && joined.windows->end[1] == 3, "concat features mask");

  Inputs noMask = randomInputs({{5, 2}, {5, 2}}, 33);
  RNNKIT_CHECK(run(add, noMask).windows == nullptr, "no mask in, no mask out");

  ConcatenateLayer<double> time(1);
  Inputs sequences = randomInputs({{5, 2}, {5, 2}}, 34);
  sequences.windows = {&a, nullptr};
  const std::string error = errorOf([&] { run(time, sequences); });
  RNNKIT_CHECK(contains(error, "time axis") && contains(error, "masked"), "time-axis concat of masks: " << error);
}

RNNKIT_TEST("merge: shape errors name both shapes") {
  ElementwiseMergeLayer<double> add(MergeOperation::Add), sub(MergeOperation::Subtract);
  std::string error = errorOf([&] { add.outputShapes({{4, 3}, {4, 2}}); });
  RNNKIT_CHECK(contains(error, "[4, 3] and [4, 2]"), error);
  error = errorOf([&] { add.outputShapes({{4, 3}}); });
  RNNKIT_CHECK(contains(error, "at least 2") && contains(error, "received 1"), error);
  error = errorOf([&] { sub.outputShapes({{3}, {3}, {3}}); });
  RNNKIT_CHECK(contains(error, "exactly 2") && contains(error, "received 3"), error);
  RNNKIT_CHECK((add.outputShapes({{kAnyLength, 3}, {kAnyLength, 3}})[0] == Shape{kAnyLength, 3}), "equal -1s match");
  error = errorOf([&] { add.outputShapes({{kAnyLength, 3}, {4, 3}}); });
  RNNKIT_CHECK(contains(error, "[-1, 3] and [4, 3]"), error);
  // Two inputs of any length meet different lengths in a batch: refused when the batch runs.
  Inputs in = randomInputs({{4, 3}, {5, 3}}, 40);
  error = errorOf([&] { run(add, in); });
  RNNKIT_CHECK(contains(error, "[4, 3] and [5, 3]"), error);

  ConcatenateLayer<double> concat(-1), time(1);
  error = errorOf([&] { concat.outputShapes({{4, 3}, {5, 2}}); });
  RNNKIT_CHECK(contains(error, "except along axis -1") && contains(error, "[4, 3] and [5, 2]"), error);
  error = errorOf([&] { concat.outputShapes({{4, 3}, {3}}); });
  RNNKIT_CHECK(contains(error, "one rank"), error);
  error = errorOf([&] { ConcatenateLayer<double>(3).outputShapes({{4, 3}, {4, 3}}); });
  RNNKIT_CHECK(contains(error, "axis within") && contains(error, "received 3"), error);
  error = errorOf([&] { ConcatenateLayer<double>(0); });
  RNNKIT_CHECK(contains(error, "batch"), error);
  RNNKIT_CHECK((time.outputShapes({{kAnyLength, 3}, {4, 3}})[0] == Shape{kAnyLength, 3}), "concat along -1 gives -1");
  RNNKIT_CHECK((time.outputShapes({{2, 3}, {4, 3}})[0] == Shape{6, 3}), "concat along time adds lengths");
}

RNNKIT_TEST("repeatVector, reshape, flatten: hand values, gradients, no mask passed on") {
  RepeatVectorLayer<double> repeat(3);
  Inputs vec = randomInputs({{2}}, 50);
  const Activations<double> repeated = run(repeat, vec);
  RNNKIT_CHECK(repeated.shape == Shape({3, 2}), "repeat shape");
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t f = 0; f < 2; ++f)
        RNNKIT_CHECK(repeated.data[(b * 3 + t) * 2 + f] == vec.values[0][b * 2 + f], "repeat value");
  checkGradients("repeatVector", repeat, randomInputs({{4}}, 51));

  SequenceWindows windows{{1, 0, 2}, {3, 4, 4}};
  ReshapeLayer<double> reshape({2, -1});
  Inputs seq = randomInputs({{4, 3}}, 52);
  seq.windows = {&windows};
  const Activations<double> reshaped = run(reshape, seq);
  RNNKIT_CHECK(reshaped.shape == Shape({2, 6}) && reshaped.windows == nullptr, "reshape infers -1, drops the mask");
  for (size_t i = 0; i < seq.values[0].size(); ++i) RNNKIT_CHECK(reshaped.data[i] == seq.values[0][i], "row-major");
  checkGradients("reshape", reshape, randomInputs({{4, 3}}, 53));

  FlattenLayer<double> flatten;
  const Activations<double> flat = run(flatten, seq);
  RNNKIT_CHECK(flat.shape == Shape({12}) && flat.windows == nullptr, "flatten shape, no mask");
  // Keras drops the mask here, so every row, masked or not, gets its gradient.
  checkGradients("flatten", flatten, seq);
}

RNNKIT_TEST("repeatVector, reshape, flatten: shape errors") {
  std::string error = errorOf([&] { RepeatVectorLayer<double>(2).outputShape({4, 3}); });
  RNNKIT_CHECK(contains(error, "[features]") && contains(error, "[4, 3]"), error);
  error = errorOf([&] { RepeatVectorLayer<double>(0); });
  RNNKIT_CHECK(contains(error, "n >= 1"), error);
  error = errorOf([&] { ReshapeLayer<double>({5, -1}).outputShape({4, 3}); });
  RNNKIT_CHECK(contains(error, "[5, -1]") && contains(error, "[4, 3] (12 values)"), error);
  error = errorOf([&] { ReshapeLayer<double>({5, 3}).outputShape({4, 3}); });
  RNNKIT_CHECK(contains(error, "[5, 3]") && contains(error, "12 values"), error);
  error = errorOf([&] { ReshapeLayer<double>({-1, -1}); });
  RNNKIT_CHECK(contains(error, "at most one -1"), error);
  error = errorOf([&] { ReshapeLayer<double>({4, -1}).outputShape({kAnyLength, 4}); });
  RNNKIT_CHECK(contains(error, "known size") && contains(error, "[-1, 4]"), error);
  error = errorOf([&] { FlattenLayer<double>().outputShape({kAnyLength, 4}); });
  RNNKIT_CHECK(contains(error, "known size"), error);
  RNNKIT_CHECK((ReshapeLayer<double>({-1}).outputShape({4, 3}) == Shape{12}), "reshape [-1]");
}

}  // namespace
