// Shared by the float64 graph tests: layer specs and a GraphRunner<double> bound to its own random parameters, with a
// linear loss of its outputs and a finite-difference check of every parameter gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "ops/graph.h"
#include "ops/network.h"

namespace rnnkit::tests::graph {

using namespace rnnkit::ops;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;

inline LayerSpec dense(const std::string& name, int64_t units, Activation activation) {
  LayerSpec spec;
  spec.kind = LayerKind::Dense;
  spec.name = name;
  spec.dense.units = units;
  spec.dense.activation = activation;
  return spec;
}

inline LayerSpec lstm(const std::string& name, int64_t units, bool returnSequences) {
  LayerSpec spec;
  spec.kind = LayerKind::Recurrent;
  spec.name = name;
  spec.recurrent.cell.kind = CellKind::Lstm;
  spec.recurrent.units = units;
  spec.recurrent.returnSequences = returnSequences;
  return spec;
}

// A graph bound to its own float64 parameters, and the loss L = sum_k weight_k * sum(R_k * output_k) for fixed
// random R_k (a linear functional of the outputs, so the check covers the graph and nothing else).
struct GraphHarness {
  GraphSpec spec;
  GraphPlan plan;
  std::vector<std::vector<std::vector<double>>> values, grads;  // [layer][param]
  std::unique_ptr<GraphRunner<double>> runner;
  std::vector<double> weights;
  std::vector<char> seeded;  // per output: does a gradient reach it (nullptr seed when not)

  GraphHarness(GraphSpec graph, std::vector<double> outputWeights)
      : spec(std::move(graph)), plan(planGraph(spec)), weights(std::move(outputWeights)) {
    std::vector<std::vector<double*>> v, g;
    values.resize(spec.layers.size());
    grads.resize(spec.layers.size());
    for (size_t l = 0; l < spec.layers.size(); ++l) {
      for (size_t p = 0; p < plan.layerParams[l].size(); ++p) {
        const int64_t size = shapeSize(plan.layerParams[l][p].shape);
        values[l].push_back(randomVector(size, static_cast<uint32_t>(11 + 7 * l + p), 0.5));
        grads[l].emplace_back(size, 123.0);  // garbage: backward must overwrite it
      }
    }
    for (size_t l = 0; l < spec.layers.size(); ++l) {
      v.emplace_back();
      g.emplace_back();
      for (auto& values : values[l]) v.back().push_back(values.data());
      for (auto& grads : grads[l]) g.back().push_back(grads.data());
    }
    runner = std::make_unique<GraphRunner<double>>(spec, plan, v, g);
    seeded.assign(spec.outputs.size(), 1);
  }

  std::vector<double> functional(size_t k, int64_t size) const {
    return randomVector(size, static_cast<uint32_t>(900 + k));
  }

  double loss(const std::vector<Activations<double>>& inputs) {
    const auto& outputs = runner->forward(inputs, kGradientPass, 0);
    double total = 0;
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (!seeded[k]) continue;
      const int64_t size = outputs[k].batch * shapeSize(outputs[k].shape);
      const std::vector<double> r = functional(k, size);
      for (int64_t i = 0; i < size; ++i) total += weights[k] * r[i] * outputs[k].data[i];
    }
    return total;
  }

  void backward(const std::vector<Activations<double>>& inputs) {
    const auto& outputs = runner->forward(inputs, kGradientPass, 0);
    std::vector<std::vector<double>> seeds(outputs.size());
    std::vector<const double*> pointers;
    for (size_t k = 0; k < outputs.size(); ++k) {
      seeds[k] = functional(k, outputs[k].batch * shapeSize(outputs[k].shape));
      for (double& s : seeds[k]) s *= weights[k];
      pointers.push_back(seeded[k] ? seeds[k].data() : nullptr);
    }
    runner->backward(pointers, {});
  }

  // Checks the gradient of every parameter of every layer against central differences.
  void check(const std::string& what, const std::vector<Activations<double>>& inputs) {
    backward(inputs);
    for (size_t l = 0; l < spec.layers.size(); ++l) {
      for (size_t p = 0; p < values[l].size(); ++p) {
        const std::vector<double> analytic = grads[l][p];
        const std::vector<double> numeric = numericGradient([&] { return loss(inputs); }, values[l][p]);
        double scale = 0;
        for (double n : numeric) scale = std::max(scale, std::fabs(n));
        if (scale == 0) {  // a layer no loss depends on: its gradient must be exactly zero
          for (double a : analytic) RNNKIT_CHECK(a == 0, what << ": layer '" << spec.layers[l].name << "' gradient " << a);
          continue;
        }
        expectGradient(what + ": layer '" + spec.layers[l].name + "' " + plan.layerParams[l][p].name, analytic, numeric);
      }
    }
  }
};

inline Activations<double> input(const std::vector<double>& data, int64_t batch, Shape shape) {
  Activations<double> a;
  a.data = data.data();
  a.batch = batch;
  a.shape = std::move(shape);
  return a;
}

}  // namespace rnnkit::tests::graph
