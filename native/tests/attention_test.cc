// Float64 checks of the attention layer op (ops/attention_layer.h over kernels/attention.h): hand values on tiny
// inputs, a loop-by-loop reference of Keras's formulas on random inputs, and central-difference gradients of
// L = sum(R0 * output) + sum(R1 * scores) with respect to the query, value, key and every weight, for each score
// function, with and without scale, masks on the value and the query, the causal mask and training dropout.
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "harness.h"
#include "ops/attention_layer.h"

namespace {

using namespace rnnkit::ops;
using rnnkit::kernels::AttentionScore;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;
using Vector = std::vector<double>;

constexpr int64_t kBatch = 3, kQuerySteps = 3, kValueSteps = 4, kKeyDim = 3, kValueDim = 2;

const char* scoreName(AttentionScore score) {
  return score == AttentionScore::Dot ? "dot" : score == AttentionScore::Concat ? "concat" : "additive";
}

// Value windows: full, inside ([1, 3)), a prefix ([0, 2)); query windows: full, post-padded, pre-padded.
SequenceWindows valueWindows() { return {{0, 1, 0}, {4, 3, 2}}; }
SequenceWindows queryWindows() { return {{0, 0, 1}, {3, 2, 3}}; }

// One op with its inputs, weights and the fixed output weightings R0, R1 of the loss.
struct Fixture {
  AttentionConfig config;
  bool withKey = false;
  const SequenceWindows* valueMask = nullptr;
  const SequenceWindows* queryMask = nullptr;
  int64_t batch = kBatch, querySteps = kQuerySteps, valueSteps = kValueSteps, keyDim = kKeyDim;
  int64_t valueDim = kValueDim;
  ForwardMode mode = kGradientPass;
  Vector query, value, key, r0, r1;
  std::vector<Vector> params, grads;
  std::unique_ptr<AttentionLayer<double>> op;

  void build(uint32_t seed) {
    if (!withKey) valueDim = keyDim;  // the value is the key
    query = randomVector(batch * querySteps * keyDim, seed + 1);
    value = randomVector(batch * valueSteps * valueDim, seed + 2);
    key = randomVector(batch * valueSteps * keyDim, seed + 3);
    r0 = randomVector(batch * querySteps * valueDim, seed + 4);
    r1 = randomVector(batch * querySteps * valueSteps, seed + 5);
    op = std::make_unique<AttentionLayer<double>>(config);
    params.clear();
    grads.clear();
    for (const ParamInfo& info : op->paramInfos(shapes())) {
      params.push_back(randomVector(shapeSize(info.shape), seed + 10 + static_cast<uint32_t>(params.size()), 1.0));
      grads.emplace_back(shapeSize(info.shape), 0.0);
    }
    std::vector<double*> values, gradients;
    for (size_t p = 0; p < params.size(); ++p) {
      values.push_back(params[p].data());
      gradients.push_back(grads[p].data());
    }
    op->bind(values, gradients);
  }
  std::vector<Shape> shapes() const {
    std::vector<Shape> list{{querySteps, keyDim}, {valueSteps, valueDim}};
    if (withKey) list.push_back({valueSteps, keyDim});
    return list;
  }
  std::vector<Activations<double>> forward() {
    std::mt19937 rng(11);  // the same dropout mask at every call
    std::vector<Activations<double>> inputs{{query.data(), batch, {querySteps, keyDim}, queryMask},
                                            {value.data(), batch, {valueSteps, valueDim}, valueMask}};
    if (withKey) inputs.push_back({key.data(), batch, {valueSteps, keyDim}, nullptr});
    return op->forwardAll(inputs, mode, rng);
  }
  double loss() {
    const std::vector<Activations<double>> out = forward();
    double sum = 0;
    for (size_t n = 0; n < r0.size(); ++n) sum += r0[n] * out[0].data[n];
    if (out.size() > 1) {
      for (size_t n = 0; n < r1.size(); ++n) sum += r1[n] * out[1].data[n];
    }
    return sum;
  }
  // Analytic gradients of the loss: [dQuery, dValue, dKey?].
  std::vector<Vector> backward() {
    forward();
    std::vector<Vector> d{Vector(query.size(), 7.0), Vector(value.size(), 7.0)};  // 7: overwrite must replace it
    if (withKey) d.emplace_back(key.size(), 7.0);
    std::vector<double*> slots;
    for (Vector& v : d) slots.push_back(v.data());
    std::vector<const double*> dOutputs{r0.data()};
    if (config.returnAttentionScores) dOutputs.push_back(r1.data());
    op->backwardAll(dOutputs, slots);
    return d;
  }
  void checkGradients(const std::string& what) {
    const std::vector<Vector> d = backward();
    const auto lossFn = [this] { return loss(); };
    expectGradient(what + " dQuery", d[0], numericGradient(lossFn, query));
    expectGradient(what + " dValue", d[1], numericGradient(lossFn, value));
    if (withKey) expectGradient(what + " dKey", d[2], numericGradient(lossFn, key));
    for (size_t p = 0; p < params.size(); ++p) {
      expectGradient(what + " param " + std::to_string(p), grads[p], numericGradient(lossFn, params[p]));
    }
  }
};

// Keras's formulas, loop by loop: the scores, the masked softmax (uniform on a row with nothing to attend to),
// the weighted sum, the zeroed query rows.
Vector referenceOutput(const Fixture& f, Vector* weightsOut) {
  const Vector& keys = f.withKey ? f.key : f.value;
  const bool useScale = f.config.useScale;
  Vector out(f.batch * f.querySteps * f.valueDim, 0.0);
  if (weightsOut) weightsOut->assign(f.batch * f.querySteps * f.valueSteps, 0.0);
  for (int64_t b = 0; b < f.batch; ++b) {
    for (int64_t i = 0; i < f.querySteps; ++i) {
      Vector s(f.valueSteps, 0.0), w(f.valueSteps, 0.0);
      int64_t first = f.valueMask ? f.valueMask->start[b] : 0, last = f.valueMask ? f.valueMask->end[b] : f.valueSteps;
      if (f.config.useCausalMask) last = std::min<int64_t>(last, i + 1);
      for (int64_t j = 0; j < f.valueSteps; ++j) {
        for (int64_t d = 0; d < f.keyDim; ++d) {
          const double q = f.query[(b * f.querySteps + i) * f.keyDim + d], k = keys[(b * f.valueSteps + j) * f.keyDim + d];
          switch (f.config.score) {
            case AttentionScore::Dot: s[j] += q * k * (useScale ? f.params[0][0] : 1.0); break;
            case AttentionScore::Concat:
              s[j] += f.params[useScale ? 1 : 0][0] * std::tanh((useScale ? f.params[0][0] : 1.0) * (q + k));
              break;
            case AttentionScore::Additive: s[j] += (useScale ? f.params[0][d] : 1.0) * std::tanh(q + k); break;
          }
        }
      }
      double total = 0, top = -HUGE_VAL;
      for (int64_t j = first; j < last; ++j) top = std::max(top, s[j]);
      for (int64_t j = first; j < last; ++j) total += (w[j] = std::exp(s[j] - top));
      for (int64_t j = 0; j < f.valueSteps; ++j) w[j] = first >= last ? 1.0 / f.valueSteps : w[j] / total;
      const bool queryKept = !f.queryMask || (i >= f.queryMask->start[b] && i < f.queryMask->end[b]);
      for (int64_t j = 0; j < f.valueSteps; ++j) {
        if (weightsOut) (*weightsOut)[(b * f.querySteps + i) * f.valueSteps + j] = w[j];
        for (int64_t e = 0; e < f.valueDim && queryKept; ++e) {
          out[(b * f.querySteps + i) * f.valueDim + e] += w[j] * f.value[(b * f.valueSteps + j) * f.valueDim + e];
        }
      }
    }
  }
  return out;
}

void expectNear(const std::string& what, const double* actual, const Vector& expected, double tolerance) {
  for (size_t n = 0; n < expected.size(); ++n) {
    RNNKIT_CHECK(std::fabs(actual[n] - expected[n]) <= tolerance,
                 what << " entry " << n << ": " << actual[n] << " vs " << expected[n]);
  }
}

RNNKIT_TEST("attention hand values: dot, dot with scale 2, additive with scale [1, -1]") {
  // q = [1, 0], v = k = [[1, 0], [0, 1]]: dot scores [1, 0] -> weights [e, 1] / (e + 1), output = the weights.
  Fixture f;
  f.batch = 1, f.querySteps = 1, f.valueSteps = 2, f.keyDim = 2;
  f.config.returnAttentionScores = true;
  f.build(1);
  f.query = {1, 0};
  f.value = {1, 0, 0, 1};
  const double e = std::exp(1.0);
  std::vector<Activations<double>> out = f.forward();
  expectNear("dot output", out[0].data, {e / (e + 1), 1 / (e + 1)}, 1e-15);
  expectNear("dot weights", out[1].data, {e / (e + 1), 1 / (e + 1)}, 1e-15);
  f.config.useScale = true;
  f.build(1);
  f.query = {1, 0};
  f.value = {1, 0, 0, 1};
  f.params[0] = {2.0};  // scores [2, 0]
  out = f.forward();
  const double e2 = std::exp(2.0);
  expectNear("scaled dot output", out[0].data, {e2 / (e2 + 1), 1 / (e2 + 1)}, 1e-15);
  // Additive, u = [1, -1]: s_0 = tanh(2) - tanh(0) = tanh(2), s_1 = tanh(1) - tanh(1) = 0.
  f.config.score = AttentionScore::Additive;
  f.build(1);
  f.query = {1, 0};
  f.value = {1, 0, 0, 1};
  f.params[0] = {1.0, -1.0};
  out = f.forward();
  const double et = std::exp(std::tanh(2.0));
  expectNear("additive weights", out[1].data, {et / (et + 1), 1 / (et + 1)}, 1e-15);
}

RNNKIT_TEST("attention forward equals Keras's formulas for every score function, mask and causal setting") {
  const SequenceWindows values = valueWindows(), queries = queryWindows();
  for (AttentionScore score : {AttentionScore::Dot, AttentionScore::Concat, AttentionScore::Additive}) {
    for (int variant = 0; variant < 8; ++variant) {
      Fixture f;
      f.config.score = score;
      f.config.useScale = variant & 1;
      f.config.useCausalMask = variant & 2;
      f.config.returnAttentionScores = true;
      f.withKey = variant & 4;
      f.valueMask = &values;
      f.queryMask = variant & 1 ? &queries : nullptr;
      f.build(100 + variant);
      const std::vector<Activations<double>> out = f.forward();
      Vector weights;
      const Vector expected = referenceOutput(f, &weights);
      const std::string what = std::string(scoreName(score)) + " variant " + std::to_string(variant);
      expectNear(what + " output", out[0].data, expected, 1e-12);
      expectNear(what + " weights", out[1].data, weights, 1e-12);
      RNNKIT_CHECK(out[0].windows == f.queryMask, what << ": the output's mask must be the query's");
      RNNKIT_CHECK(out[1].windows == nullptr, what << ": the scores carry no mask");
    }
  }
}

RNNKIT_TEST("attention gradients: every score function, scale, key, masks, causal, returned scores") {
  const SequenceWindows values = valueWindows(), queries = queryWindows();
  for (AttentionScore score : {AttentionScore::Dot, AttentionScore::Concat, AttentionScore::Additive}) {
    for (int variant = 0; variant < 16; ++variant) {
      Fixture f;
      f.config.score = score;
      f.config.useScale = variant & 1;
      f.withKey = variant & 2;
      f.valueMask = variant & 4 ? &values : nullptr;
      f.queryMask = variant & 8 ? &queries : nullptr;
      f.config.returnAttentionScores = variant & 8 || variant == 1;
      f.config.useCausalMask = variant == 5 || variant == 14;
      f.build(200 + variant);
      f.checkGradients(std::string(scoreName(score)) + " variant " + std::to_string(variant));
    }
  }
}

RNNKIT_TEST("attention value mask: masked steps get exactly 0 weight and no gradient; masked query rows are 0") {
  const SequenceWindows values = valueWindows(), queries = queryWindows();
  for (AttentionScore score : {AttentionScore::Dot, AttentionScore::Concat, AttentionScore::Additive}) {
    Fixture f;
    f.config.score = score;
    f.config.useScale = true;
    f.config.returnAttentionScores = true;
    f.withKey = true;
    f.valueMask = &values;
    f.queryMask = &queries;
    f.build(300);
    const std::vector<Activations<double>> out = f.forward();
    const std::vector<Vector> d = f.backward();
    for (int64_t b = 0; b < f.batch; ++b) {
      for (int64_t j = 0; j < f.valueSteps; ++j) {
        if (j >= values.start[b] && j < values.end[b]) continue;
        for (int64_t i = 0; i < f.querySteps; ++i) {
          RNNKIT_CHECK(out[1].data[(b * f.querySteps + i) * f.valueSteps + j] == 0.0, scoreName(score) << " weight");
        }
        for (int64_t e = 0; e < f.valueDim; ++e) {
          RNNKIT_CHECK(d[1][(b * f.valueSteps + j) * f.valueDim + e] == 0.0, scoreName(score) << " dValue");
        }
        for (int64_t e = 0; e < f.keyDim; ++e) {
          RNNKIT_CHECK(d[2][(b * f.valueSteps + j) * f.keyDim + e] == 0.0, scoreName(score) << " dKey");
        }
      }
      for (int64_t i = 0; i < f.querySteps; ++i) {
        if (i >= queries.start[b] && i < queries.end[b]) continue;
        for (int64_t e = 0; e < f.valueDim; ++e) {
          RNNKIT_CHECK(out[0].data[(b * f.querySteps + i) * f.valueDim + e] == 0.0, scoreName(score) << " masked row");
        }
      }
    }
  }
}

RNNKIT_TEST("attention with nothing to attend to: uniform weights over every value step (Keras in float32)") {
  const SequenceWindows empty{{0, 2, 0}, {4, 2, 0}};  // sample 1 and 2 have no valid value step
  Fixture f;
  f.config.score = AttentionScore::Additive;
  f.config.returnAttentionScores = true;
  f.valueMask = &empty;
  f.build(400);
  const std::vector<Activations<double>> out = f.forward();
  for (int64_t n = kQuerySteps * kValueSteps; n < kBatch * kQuerySteps * kValueSteps; ++n) {
    RNNKIT_CHECK(out[1].data[n] == 0.25, "weight " << n << " is " << out[1].data[n]);
  }
  f.checkGradients("fully masked");
}

RNNKIT_TEST("attention dropout in training: weights zeroed or scaled by 1 / (1 - rate), gradients through the mask") {
  for (AttentionScore score : {AttentionScore::Dot, AttentionScore::Additive}) {
    Fixture f;
    f.config.score = score;
    f.config.dropout = 0.5;
    f.config.returnAttentionScores = true;
    f.mode = kTrainingPass;
    f.build(500);
    f.mode = kGradientPass;
    const double* noDropout = f.forward()[1].data;
    const Vector plain(noDropout, noDropout + kBatch * kQuerySteps * kValueSteps);
    f.mode = kTrainingPass;
    const std::vector<Activations<double>> out = f.forward();
    int dropped = 0;
    for (size_t n = 0; n < plain.size(); ++n) {
      const double w = out[1].data[n];
      RNNKIT_CHECK(w == 0.0 || std::fabs(w - 2 * plain[n]) < 1e-15, "dropped weight " << n << " is " << w);
      dropped += w == 0.0;
    }
    RNNKIT_CHECK(dropped > 0 && dropped < static_cast<int>(plain.size()), "dropout dropped " << dropped);
    f.checkGradients(std::string("dropout ") + scoreName(score));
  }
}

RNNKIT_TEST("attention shape errors name what was expected and what was received") {
  AttentionLayer<double> op(AttentionConfig{});
  const auto message = [&](const std::vector<Shape>& inputs) {
    try {
      op.outputShapes(inputs);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  RNNKIT_CHECK(message({{3, 4}}).find("Expected 2 or 3 input tensors") == 0, message({{3, 4}}));
  RNNKIT_CHECK(message({{3, 4}, {5}}).find("[timeSteps, features] but received [5]") != std::string::npos,
               message({{3, 4}, {5}}));
  RNNKIT_CHECK(message({{3, 4}, {5, 2}}).find("to have 4 features as the query [3, 4] but received [5, 2]") !=
                   std::string::npos, message({{3, 4}, {5, 2}}));
  RNNKIT_CHECK(message({{3, 4}, {5, 2}, {6, 4}}).find("value's 5 time steps but received [6, 4]") != std::string::npos,
               message({{3, 4}, {5, 2}, {6, 4}}));
  const std::vector<Shape> any = op.outputShapes({{kAnyLength, 4}, {kAnyLength, 2}, {kAnyLength, 4}});
  RNNKIT_CHECK(any.size() == 1 && any[0] == Shape({kAnyLength, 2}), "any-length output " << shapeToString(any[0]));
  RNNKIT_CHECK(message({{3, 4}, {5, 4}}) == "no error", message({{3, 4}, {5, 4}}));
  bool threw = false;
  try {
    AttentionLayer<double> bad(AttentionConfig{AttentionScore::Dot, false, 1.0, false, false});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RNNKIT_CHECK(threw, "a dropout rate of 1 must be refused");
}

}  // namespace
