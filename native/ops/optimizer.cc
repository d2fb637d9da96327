#include "ops/optimizer.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/finite_scan.h"
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

namespace {

// The names of the slots (first_, second_, third_) of each optimizer, for messages.
const char* slotName(OptimizerKind kind, int slot) {
  switch (kind) {
    case OptimizerKind::Sgd: return "momentum velocity";
    case OptimizerKind::RmsProp: return slot == 0 ? "mean square" : slot == 1 ? "mean gradient" : "momentum";
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW: return slot == 0 ? "first moment (m)" : "second moment (v)";
    case OptimizerKind::Adagrad: return "accumulator";
  }
  return "slot";
}

}  // namespace

int64_t Optimizer::memoryBytes() const {
  int64_t values = 0;
  for (const auto* group : {&first_, &second_, &third_, &backup_}) {
    for (const auto& slot : *group) values += static_cast<int64_t>(slot.size());
  }
  return values * static_cast<int64_t>(sizeof(float));
}

NonFiniteUpdate Optimizer::apply(const std::vector<ParamSlice>& params) {
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
  if (backup_.size() != params.size()) backup_.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamSlice& p = params[i];
    if (!p.trainable) continue;
    if (globalScale != 1) kernels::scaleInPlace(p.size, p.grad, static_cast<float>(globalScale));
    if (c.clipnorm > 0) {
      const double norm = std::sqrt(kernels::squaredNorm(p.size, p.grad));
      if (norm > c.clipnorm) kernels::scaleInPlace(p.size, p.grad, static_cast<float>(c.clipnorm / norm));
    }
    if (c.clipvalue > 0) kernels::clipByValue(p.size, p.grad, static_cast<float>(c.clipvalue));
    // Keep what the update overwrites, so a step that goes non-finite can be undone exactly.
    Workspace<float>& backup = backup_[i];
    const float* sources[] = {p.value, first_[i].data(), second_[i].data(), third_[i].data()};
    const bool present[] = {true, !first_[i].empty(), !second_[i].empty(), !third_[i].empty()};
    size_t buffers = 0;
    for (bool has : present) buffers += has;
    backup.resize(buffers * static_cast<size_t>(p.size));
    float* into = backup.data();
    for (int k = 0; k < 4; ++k) {
      if (!present[k]) continue;
      std::memcpy(into, sources[k], sizeof(float) * p.size);
      into += p.size;
    }
    update(p, i, static_cast<float>(c.learningRate * p.learningRateScale));
    NonFiniteUpdate found = scan(p, i);
    if (found.param >= 0) {
      found.param = static_cast<int64_t>(i);
      restore(params, i);
      --step_;
      return found;
    }
  }
  return {};
}

void Optimizer::update(const ParamSlice& p, size_t i, float lr) {
  const OptimizerConfig& c = config_;
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

NonFiniteUpdate Optimizer::scan(const ParamSlice& p, size_t i) const {
  const Workspace<float>* slots[] = {&first_[i], &second_[i], &third_[i]};
  NonFiniteUpdate found;
  const int64_t inValue = kernels::firstNonFinite(p.value, p.size);
  if (inValue >= 0) {
    found.param = 0;
    found.buffer = "value";
    found.index = inValue;
    found.value = p.value[inValue];
    return found;
  }
  for (int k = 0; k < 3; ++k) {
    if (slots[k]->empty()) continue;
    const int64_t at = kernels::firstNonFinite(slots[k]->data(), p.size);
    if (at >= 0) {
      found.param = 0;
      found.buffer = std::string("optimizer ") + slotName(config_.kind, k);
      found.index = at;
      found.value = (*slots[k])[at];
      return found;
    }
  }
  return found;
}

void Optimizer::restore(const std::vector<ParamSlice>& params, size_t last) {
  for (size_t i = 0; i <= last; ++i) {
    const ParamSlice& p = params[i];
    if (!p.trainable) continue;
    float* targets[] = {p.value, first_[i].data(), second_[i].data(), third_[i].data()};
    const bool present[] = {true, !first_[i].empty(), !second_[i].empty(), !third_[i].empty()};
    const float* from = backup_[i].data();
    for (int k = 0; k < 4; ++k) {
      if (!present[k]) continue;
      std::memcpy(targets[k], from, sizeof(float) * p.size);
      from += p.size;
    }
  }
}

}  // namespace rnnkit::ops
