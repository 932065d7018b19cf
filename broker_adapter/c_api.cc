// The C API of webhookgw_adapter.h, a thin shell over webhookgw::Adapter.

#include <cstring>
#include <memory>
#include <string>

#include "broker_adapter/adapter.h"
#include "broker_adapter/webhookgw_adapter.h"

struct wgw_adapter {
  std::unique_ptr<webhookgw::Adapter> impl;
};

namespace {

void WriteError(const std::string& message, char* err, size_t err_len) {
  if (err == nullptr || err_len == 0) return;
  const size_t n = std::min(message.size(), err_len - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

}  // namespace

extern "C" {

void wgw_adapter_options_init(wgw_adapter_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  options->streams = 4;
  options->queue_max_events = 100000;
  options->queue_max_bytes = 64ULL << 20;
  options->drop_policy = WGW_DROP_NEWEST;
  options->batch_max_events = 500;
  options->batch_max_bytes = 1 << 20;
  options->linger_ms = 5;
  options->max_unacked_per_stream = 5000;
  options->backoff_initial_ms = 100;
  options->backoff_max_ms = 10000;
  options->ack_timeout_ms = 20000;
  options->keepalive_time_ms = 10000;
  options->keepalive_timeout_ms = 5000;
}

wgw_adapter* wgw_adapter_create(const wgw_adapter_options* options, char* err, size_t err_len) {
  if (options == nullptr) {
    WriteError("adapter: options is NULL", err, err_len);
    return nullptr;
  }
  auto adapter = webhookgw::Adapter::Create(webhookgw::AdapterOptionsFromC(*options));
  if (!adapter.ok()) {
    WriteError(std::string(adapter.status().message()), err, err_len);
    return nullptr;
  }
  return new wgw_adapter{*std::move(adapter)};
}

int wgw_adapter_emit(wgw_adapter* adapter, const wgw_event* event) {
  if (adapter == nullptr) return WGW_DROPPED_INVALID;
  if (event == nullptr) {
    adapter->impl->CountInvalid();
    return WGW_DROPPED_INVALID;
  }
  webhookgw::v1::Event proto;
  if (!webhookgw::EventFromC(*event, &proto).ok()) {
    adapter->impl->CountInvalid();
    return WGW_DROPPED_INVALID;
  }
  return adapter->impl->Emit(std::move(proto));
}

void wgw_adapter_get_stats(wgw_adapter* adapter, wgw_adapter_stats* stats) {
  if (adapter == nullptr || stats == nullptr) return;
  *stats = adapter->impl->GetStats();
}

void wgw_adapter_destroy(wgw_adapter* adapter, uint32_t timeout_ms) {
  if (adapter == nullptr) return;
  adapter->impl->Shutdown(absl::Milliseconds(timeout_ms));
  delete adapter;
}

}  // extern "C"
