#ifndef WEBHOOKGW_GATEWAY_ADMIN_SERVER_H_
#define WEBHOOKGW_GATEWAY_ADMIN_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "gateway/gateway.h"

namespace httplib {
class Server;
}

namespace webhookgw {

// Renders the gateway's metrics in the Prometheus text exposition format.
// Debian 12 has no prometheus-cpp package, so the few metric families are
// written here directly from the counters in metrics.h.
std::string RenderMetrics(Gateway& gateway);

// The admin HTTP listener: /metrics, /healthz (the process is alive) and
// /readyz (config loaded, gRPC listener up, not draining).
//
// Thread-safe: set_ready may be called from any thread.
class AdminServer {
 public:
  explicit AdminServer(Gateway* gateway);
  ~AdminServer();

  // Binds `listen` ("host:port", port 0 picks one) and serves in the
  // background. Errors name the address.
  absl::Status Start(const std::string& listen);
  void Stop();

  // The port actually bound.
  int port() const { return port_; }

  void set_ready(bool ready) { ready_.store(ready); }

 private:
  Gateway* const gateway_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> ready_{false};
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_ADMIN_SERVER_H_
