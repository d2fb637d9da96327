#include "ops/optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/optimizers.h"

namespace rnnkit::ops {

Optimizer::Optimizer(const OptimizerConfig& config, const std::vector<int64_t>& paramSizes) : config_(config) {
  if (!(config.learningRate >= 0)) {
    throw std::invalid_argument("Expected learningRate >= 0 but received " + std::to_string(config.learningRate));
  }
  const size_t count = paramSizes.size();
  first_.resize(count);
  second_.resize(count);
  third_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const int64_t n = paramSizes[i];
    switch (config.kind) {
      case OptimizerKind::Sgd:
        if (config.momentum > 0) first_[i].assign(n, 0.f);
        break;
      case OptimizerKind::RmsProp:
        first_[i].assign(n, 0.f);
        if (config.centered) second_[i].assign(n, 0.f);
        if (config.momentum > 0) third_[i].assign(n, 0.f);
        break;
      case OptimizerKind::Adam:
      case OptimizerKind::AdamW:
        first_[i].assign(n, 0.f);
        second_[i].assign(n, 0.f);
        break;
      case OptimizerKind::Adagrad:
        first_[i].assign(n, static_cast<float>(config.initialAccumulatorValue));
        break;
    }
  }
}

std::vector<Workspace<float>*> Optimizer::slots() {
  std::vector<Workspace<float>*> list;
  for (auto* group : {&first_, &second_, &third_}) {
    for (auto& slot : *group) {
      if (!slot.empty()) list.push_back(&slot);
    }
  }
  return list;
}

void Optimizer::apply(const std::vector<ParamSlice>& params) {
  ++step_;
  const OptimizerConfig& c = config_;
  double globalScale = 1;
  if (c.globalClipnorm > 0) {
    double squared = 0;
    for (const ParamSlice& p : params) {
      if (p.trainable) squared += kernels::squaredNorm(p.size, p.grad);
    }
    const double norm = std::sqrt(squared);
    if (norm > c.globalClipnorm) globalScale = c.globalClipnorm / norm;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamSlice& p = params[i];
    if (!p.trainable) continue;
    if (globalScale != 1) kernels::scaleInPlace(p.size, p.grad, static_cast<float>(globalScale));
    if (c.clipnorm > 0) {
      const double norm = std::sqrt(kernels::squaredNorm(p.size, p.grad));
      if (norm > c.clipnorm) kernels::scaleInPlace(p.size, p.grad, static_cast<float>(c.clipnorm / norm));
    }
    if (c.clipvalue > 0) kernels::clipByValue(p.size, p.grad, static_cast<float>(c.clipvalue));
    const float lr = static_cast<float>(c.learningRate * p.learningRateScale);
    float* slot1 = first_[i].empty() ? nullptr : first_[i].data();
    float* slot2 = second_[i].empty() ? nullptr : second_[i].data();
    float* slot3 = third_[i].empty() ? nullptr : third_[i].data();
    switch (c.kind) {
      case OptimizerKind::Sgd:
        kernels::sgdUpdate(p.size, p.value, p.grad, slot1, lr, static_cast<float>(c.momentum), c.nesterov);
        break;
      case OptimizerKind::RmsProp:
        kernels::rmspropUpdate(p.size, p.value, p.grad, slot1, slot2, slot3, lr, static_cast<float>(c.rho),
                               static_cast<float>(c.momentum), static_cast<float>(c.epsilon));
        break;
      case OptimizerKind::Adam:
        kernels::adamUpdate(p.size, p.value, p.grad, slot1, slot2, lr, static_cast<float>(c.beta1),
                            static_cast<float>(c.beta2), static_cast<float>(c.epsilon), step_);
        break;
      case OptimizerKind::AdamW:
        kernels::adamwUpdate(p.size, p.value, p.grad, slot1, slot2, lr, static_cast<float>(c.beta1),
                             static_cast<float>(c.beta2), static_cast<float>(c.epsilon),
                             static_cast<float>(c.weightDecay), step_);
        break;
      case OptimizerKind::Adagrad:
        kernels::adagradUpdate(p.size, p.value, p.grad, slot1, lr, static_cast<float>(c.epsilon));
        break;
    }
  }
}

}  // namespace rnnkit::ops
