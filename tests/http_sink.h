#ifndef WEBHOOKGW_TESTS_HTTP_SINK_H_
#define WEBHOOKGW_TESTS_HTTP_SINK_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace webhookgw::testing {

// A real HTTP server on 127.0.0.1, port chosen by the OS, that records every
// request it receives. Connections are counted by distinct client ports: a
// kept-alive client reuses its port, a new connection gets a new one.
class HttpSink {
 public:
  struct Request {
    std::string path;
    std::string body;
    httplib::Headers headers;
    int remote_port = 0;
  };

  // `status` decides the answer to each request (default: 200).
  explicit HttpSink(std::function<int(const Request&)> status = nullptr)
      : status_(std::move(status)) {
    server_.Post(R"(.*)", [this](const httplib::Request& req, httplib::Response& res) {
      Request r{req.path, req.body, req.headers, req.remote_port};
      int code = status_ ? status_(r) : 200;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(std::move(r));
        ports_.insert(req.remote_port);
      }
      res.status = code;
    });
    server_.set_keep_alive_max_count(100000);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs: wait for it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HttpSink() {
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }
  size_t connections() {
    absl::MutexLock lock(&mu_);
    return ports_.size();
  }

  // Waits until at least n requests arrived, for at most `timeout`.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return count() >= n;
  }

 private:
  std::function<int(const Request&)> status_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  std::set<int> ports_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhookgw::testing

#endif  // WEBHOOKGW_TESTS_HTTP_SINK_H_
