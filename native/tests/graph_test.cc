// The graph engine (ops/graph.h) in float64: finite-difference checks of every parameter gradient through graphs with
// fan-out, several weighted outputs, a layer applied twice and inputs of any length; and the build-time checks of a
// graph that cannot run.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "graph_harness.h"

namespace {

using namespace rnnkit::tests::graph;

// x -> A -> t1; t1 -> B -> t2; t1 -> C -> t3; outputs t2, t3 and t1 itself (an output that is also read).
GraphSpec fanOut() {
  GraphSpec g;
  g.inputs = {{"x", {4}}};
  g.layers = {dense("A", 3, Activation::Tanh), dense("B", 2, Activation::Linear), dense("C", 2, Activation::Sigmoid)};
  g.nodes = {{0, {0}, {1}}, {1, {1}, {2}}, {2, {1}, {3}}};
  g.outputs = {2, 3, 1};
  return g;
}

template <typename Fn>
std::string thrownMessage(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

RNNKIT_TEST("graph backward: fan-out into two heads and weighted outputs match finite differences") {
  GraphHarness h(fanOut(), {0.7, 1.3, 0.5});
  const std::vector<double> x = randomVector(5 * 4, 3);
  h.check("fan-out", {input(x, 5, {4})});
}

RNNKIT_TEST("graph backward: an output no gradient reaches leaves zero gradients in the layer feeding only it") {
  GraphHarness h(fanOut(), {1.0, 1.0, 1.0});
  h.seeded = {1, 0, 0};  // only t2 = B(A(x)) has a loss
  const std::vector<double> x = randomVector(3 * 4, 4);
  h.check("one seeded output", {input(x, 3, {4})});
  for (const auto& grad : h.grads[2]) {
    for (double v : grad) RNNKIT_CHECK(v == 0, "layer C's gradient must be zero, got " << v);
  }
}

RNNKIT_TEST("graph backward: a layer applied twice gets the sum of both uses' gradients") {
  GraphSpec g;
  g.inputs = {{"a", {3}}, {"b", {3}}};
  g.layers = {dense("shared", 4, Activation::Tanh), dense("head", 2, Activation::Linear)};
  // shared(a) -> 2, shared(b) -> 3, head(2) -> 4, head(3) -> 5: both layers shared, outputs 4 and 5.
  g.nodes = {{0, {0}, {2}}, {0, {1}, {3}}, {1, {2}, {4}}, {1, {3}, {5}}};
  g.outputs = {4, 5};
  GraphHarness h(g, {1.0, 2.0});
  const std::vector<double> a = randomVector(4 * 3, 5), b = randomVector(4 * 3, 6);
  h.check("shared layer", {input(a, 4, {3}), input(b, 4, {3})});
  // Only the second use seeded: the first use's gradient must not leak in (its node is skipped).
  h.seeded = {0, 1};
  h.check("shared layer, second use only", {input(a, 4, {3}), input(b, 4, {3})});
}

RNNKIT_TEST("graph backward: a variable-length input runs at several lengths with the same weights") {
  GraphSpec g;
  g.inputs = {{"seq", {kAnyLength, 3}}, {"other", {kAnyLength, 3}}};
  g.layers = {lstm("encoder", 3, true), dense("proj", 2, Activation::Linear), lstm("summary", 2, false)};
  // encoder over both inputs (different lengths in one batch), a time-distributed projection of the first, and a
  // summary LSTM over the encoded second input.
  g.nodes = {{0, {0}, {2}}, {0, {1}, {3}}, {1, {2}, {4}}, {2, {3}, {5}}};
  g.outputs = {4, 5};
  GraphHarness h(g, {1.0, 0.8});
  RNNKIT_CHECK(h.plan.shapes[4] == (Shape{kAnyLength, 2}), "build shape of proj: " << shapeToString(h.plan.shapes[4]));
  for (int64_t steps : {4, 6}) {
    const std::vector<double> seq = randomVector(2 * steps * 3, 7 + steps), other = randomVector(2 * 3 * 3, 8);
    h.check("length " + std::to_string(steps), {input(seq, 2, {steps, 3}), input(other, 2, {3, 3})});
    RNNKIT_CHECK(h.runner->shapes()[4] == (Shape{steps, 2}), "concrete shape " << shapeToString(h.runner->shapes()[4]));
  }
}

RNNKIT_TEST("graph plan: a graph that cannot run is refused naming the layer") {
  GraphSpec cycle = fanOut();
  cycle.nodes[1].inputs = {3};  // B reads C's output, produced later
  const std::string unknown = thrownMessage([&] { planGraph(cycle); });
  RNNKIT_CHECK(unknown.find("Layer 'B'") != std::string::npos && unknown.find("cycle") != std::string::npos, unknown);

  GraphSpec duplicate = fanOut();
  duplicate.nodes[2].outputs = {2};
  const std::string reused = thrownMessage([&] { planGraph(duplicate); });
  RNNKIT_CHECK(reused.find("Layer 'C'") != std::string::npos && reused.find("already in use") != std::string::npos, reused);

  GraphSpec count = fanOut();
  count.nodes[0].outputs = {1, 7};
  const std::string outputs = thrownMessage([&] { planGraph(count); });
  RNNKIT_CHECK(outputs.find("Layer 'A': expected the node to name 1 output tensors, received 2") != std::string::npos, outputs);

  GraphSpec shapes;
  shapes.inputs = {{"x", {4}}};
  shapes.layers = {lstm("rnn", 2, false)};
  shapes.nodes = {{0, {0}, {1}}};
  shapes.outputs = {1};
  const std::string shape = thrownMessage([&] { planGraph(shapes); });
  RNNKIT_CHECK(shape.rfind("Layer 'rnn': ", 0) == 0 && shape.find("[4]") != std::string::npos, shape);

  GraphSpec shared;
  shared.inputs = {{"a", {3}}, {"b", {5}}};
  shared.layers = {dense("shared", 2, Activation::Linear)};
  shared.nodes = {{0, {0}, {2}}, {0, {1}, {3}}};
  shared.outputs = {2, 3};
  const std::string weights = thrownMessage([&] { planGraph(shared); });
  RNNKIT_CHECK(weights.find("Layer 'shared'") != std::string::npos && weights.find("[3, 2]") != std::string::npos &&
                   weights.find("[5, 2]") != std::string::npos,
               weights);
}

}  // namespace
