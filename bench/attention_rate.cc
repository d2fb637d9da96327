// Throughput of rnnkit's attention layer op (ops/attention_layer.h, float32, one thread) on [query, value] inputs
// with the key = the value, Keras's defaults for each layer (Attention dot without scale; AdditiveAttention with its
// learned scale [H]).
//
//   rnnkit_attention_bench dot|additive B Tq Tv H seconds
//   -> {"score":"dot","batch":B,"queryLength":Tq,"valueLength":Tv,"features":H,"seconds":S,"trials":R,
//       "forward":{"samplesPerSecond":..,"gflops":..},"train":{"samplesPerSecond":..,"gflops":..},
//       "forwardFlopsPerSample":..,"trainFlopsPerSample":..}
//
// FLOPs per sample, forward (softmax and masking not counted, as the recurrent workloads leave out gate math):
//   dot:      scores Q K^T 2 Tq Tv H + weighted sum W V 2 Tq Tv H                         = 4 Tq Tv H
//   additive: per (i, j, d) the add, the tanh (counted as 1) and the multiply-add with scale 4 Tq Tv H, plus the
//             weighted sum 2 Tq Tv H                                                     = 6 Tq Tv H
// train (forward + backward) counts 3x forward, as the bench does for every workload (for dot that is exact: the
// backward is four products of the forward's size).
// forward: an inference pass (no backward kept); train: a gradient pass and the backward from a fixed dOutput.
// Each trial repeats the work until its share of the time is up; the median trial is reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/attention_layer.h"
#include "rate_timing.h"

namespace {

using rnnkit::kernels::AttentionScore;
using namespace rnnkit::ops;
using namespace rnnkit_bench;

// Median samples per second over the trials (after one warm-up batch), as the tfjs side reports the median of its
// repetitions; `work` runs one batch.
template <typename Work>
double medianSamplesPerSecond(double seconds, long batch, Work work) {
  work();
  std::vector<double> rates = trialRates(seconds, [&] {
    work();
    return static_cast<double>(batch);
  });
  std::sort(rates.begin(), rates.end());
  return rates[kTrials / 2];
}

}  // namespace

int main(int argc, char** argv) {
  long batch = 0, queryLength = 0, valueLength = 0, features = 0;
  const std::string score = argc == 7 ? argv[1] : "";
  const double seconds = argc == 7 ? std::atof(argv[6]) : 0.0;
  if (argc != 7 || (score != "dot" && score != "additive") || !parsePositive(argv[2], batch) ||
      !parsePositive(argv[3], queryLength) || !parsePositive(argv[4], valueLength) || !parsePositive(argv[5], features) ||
      !(seconds > 0.0)) {
    std::fprintf(stderr, "usage: %s dot|additive B Tq Tv H seconds   (positive integers, positive seconds)\n", argv[0]);
    return 2;
  }
  AttentionConfig config;
  config.score = score == "dot" ? AttentionScore::Dot : AttentionScore::Additive;
  config.useScale = score == "additive";  // each layer's Keras default
  AttentionLayer<float> op(config);
  const std::vector<Shape> shapes{{queryLength, features}, {valueLength, features}};
  std::vector<std::vector<float>> params, grads;
  std::vector<float*> values, gradients;
  for (const ParamInfo& info : op.paramInfos(shapes)) {
    params.emplace_back(shapeSize(info.shape));
    grads.emplace_back(shapeSize(info.shape));
    fillPattern(params.back(), 3u);
  }
  for (size_t p = 0; p < params.size(); ++p) values.push_back(params[p].data()), gradients.push_back(grads[p].data());
  op.bind(values, gradients);

  std::vector<float> query(batch * queryLength * features), value(batch * valueLength * features);
  std::vector<float> dOutput(batch * queryLength * features), dQuery(query.size()), dValue(value.size());
  fillPattern(query, 1u);
  fillPattern(value, 2u);
  fillPattern(dOutput, 4u);
  const std::vector<Activations<float>> inputs{{query.data(), batch, shapes[0], nullptr},
                                              {value.data(), batch, shapes[1], nullptr}};
  std::mt19937 rng(5);
  const double forwardRate = medianSamplesPerSecond(seconds / 2, batch, [&] { op.forwardAll(inputs, kInferencePass, rng); });
  const double trainRate = medianSamplesPerSecond(seconds / 2, batch, [&] {
    op.forwardAll(inputs, kGradientPass, rng);
    op.backwardAll({dOutput.data()}, {dQuery.data(), dValue.data()});
  });
  const double cells = static_cast<double>(queryLength) * valueLength * features;
  const double forwardFlops = (score == "dot" ? 4.0 : 6.0) * cells, trainFlops = 3 * forwardFlops;
  std::printf("{\"score\":\"%s\",\"batch\":%ld,\"queryLength\":%ld,\"valueLength\":%ld,\"features\":%ld,\"seconds\":%g,"
              "\"trials\":%d,\"forward\":{\"samplesPerSecond\":%.1f,\"gflops\":%.3f},\"train\":{\"samplesPerSecond\":"
              "%.1f,\"gflops\":%.3f},\"forwardFlopsPerSample\":%.0f,\"trainFlopsPerSample\":%.0f}\n",
              score.c_str(), batch, queryLength, valueLength, features, seconds, kTrials, forwardRate,
              forwardRate * forwardFlops / 1e9, trainRate, trainRate * trainFlops / 1e9, forwardFlops, trainFlops);
  return 0;
}
