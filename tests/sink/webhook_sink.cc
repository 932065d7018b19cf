// webhook-sink: a small HTTP server that receives webhooks, for demos and
// for the end-to-end tests. It records or prints every request and can
// misbehave on purpose (fail for a while, ask for a pause, never answer).

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace webhookgw {
namespace {

constexpr char kUsage[] = R"(usage: webhook-sink [options]

Receives webhooks over HTTP and answers them.

  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080); port 0
                         picks a free port; the first stdout line is always
                         "listening on PORT"
  --print                pretty-print each request (method, path, headers,
                         JSON body) on stdout
  --out FILE             append one JSON line per request to FILE:
                         {"t_ms","method","path","status","headers","body"}
  --status CODE          status of every answer (default 200)
  --fail-for SECONDS     answer --fail-status for SECONDS after start
  --fail-status CODE     status while failing (default 503)
  --retry-after SECONDS  add Retry-After to answers given while failing
  --phase S:CODE[:RA]    after earlier failure phases, answer CODE for S
                         seconds (with Retry-After RA when given); repeatable
  --delay-ms N           wait N ms before each answer
  --hang                 accept connections and never answer
  --threads N            request threads (default 64)
)";

// A span of time during which every answer is `status`.
struct Phase {
  double seconds = 0;
  int status = 0;
  int retry_after = -1;  // -1: no Retry-After header
};

struct Flags {
  std::string host = "127.0.0.1";
  int port = 8080;
  bool print = false;
  std::string out;
  int status = 200;
  std::vector<Phase> phases;
  int delay_ms = 0;
  bool hang = false;
  int threads = 64;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "webhook-sink: %s\n", message.c_str());
  std::exit(2);
}

int Int(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < 0 || v > 1000000000) {
    Fail(flag + ": expected a non-negative integer, got \"" + value + "\"");
  }
  return static_cast<int>(v);
}

Phase ParsePhase(const std::string& text) {
  Phase p;
  size_t a = text.find(':');
  if (a == std::string::npos) Fail("--phase: expected S:CODE[:RA], got \"" + text + "\"");
  size_t b = text.find(':', a + 1);
  p.seconds = Int("--phase", text.substr(0, a));
  p.status = Int("--phase", text.substr(a + 1, b == std::string::npos ? b : b - a - 1));
  if (b != std::string::npos) p.retry_after = Int("--phase", text.substr(b + 1));
  return p;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  Phase fail{0, 503, -1};
  std::vector<Phase> later;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a == "--print") {
      f.print = true;
      continue;
    }
    if (a == "--hang") {
      f.hang = true;
      continue;
    }
    if (i + 1 >= argc) Fail(a + ": missing value (see --help)");
    const std::string v = argv[++i];
    if (a == "--listen") {
      size_t colon = v.rfind(':');
      if (colon == std::string::npos) Fail("--listen: expected HOST:PORT, got \"" + v + "\"");
      f.host = v.substr(0, colon);
      f.port = Int(a, v.substr(colon + 1));
    } else if (a == "--out") {
      f.out = v;
    } else if (a == "--status") {
      f.status = Int(a, v);
    } else if (a == "--fail-for") {
      fail.seconds = Int(a, v);
    } else if (a == "--fail-status") {
      fail.status = Int(a, v);
    } else if (a == "--retry-after") {
      fail.retry_after = Int(a, v);
    } else if (a == "--phase") {
      later.push_back(ParsePhase(v));
    } else if (a == "--delay-ms") {
      f.delay_ms = Int(a, v);
    } else if (a == "--threads") {
      f.threads = std::max(1, Int(a, v));
    } else {
      Fail("unknown flag " + a + " (see --help)");
    }
  }
  if (fail.seconds > 0) f.phases.push_back(fail);
  f.phases.insert(f.phases.end(), later.begin(), later.end());
  return f;
}

// httplib files the connection's addresses among the request headers; they
// were never sent, so they are left out.
bool IsPseudoHeader(const std::string& name) {
  return name == "LOCAL_ADDR" || name == "LOCAL_PORT" || name == "REMOTE_ADDR" ||
         name == "REMOTE_PORT";
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --hang: plain sockets, because an HTTP server would have to park one of
// its threads per request. Every connection is read and discarded until the
// client gives up.
int Hang(const Flags& flags) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(flags.port));
  if (inet_pton(AF_INET, flags.host.c_str(), &addr.sin_addr) != 1) {
    Fail("--listen: --hang needs an IPv4 address, got \"" + flags.host + "\"");
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    Fail("cannot listen on " + flags.host + ":" + std::to_string(flags.port) + ": " +
         std::strerror(errno));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    int conn = accept(fd, nullptr, nullptr);
    if (conn < 0) continue;
    std::thread([conn] {
      char buf[16384];
      while (read(conn, buf, sizeof(buf)) > 0) {
      }
      close(conn);
    }).detach();
  }
}

// httplib listens with a backlog of 5 (fixed in Debian's compiled library),
// so a gateway opening its whole connection pool at once gets some
// connections dropped, and each costs an event an attempt. Listening again
// on the bound socket raises the backlog; httplib does not expose the
// socket, so it is found by its port.
void RaiseBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    int listening = 0;
    socklen_t optlen = sizeof(listening);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    if (addr.sin_family != AF_INET || ntohs(addr.sin_port) != port) continue;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || !listening) continue;
    listen(fd, 1024);
  }
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (flags.hang) return Hang(flags);

  std::FILE* out = nullptr;
  if (!flags.out.empty()) {
    out = std::fopen(flags.out.c_str(), "ab");
    if (out == nullptr) Fail("--out " + flags.out + ": " + std::strerror(errno));
  }
  std::mutex mu;  // serializes output lines
  const auto start = std::chrono::steady_clock::now();

  httplib::Server server;
  const int threads = flags.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1000000000);
  server.set_keep_alive_timeout(120);
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(64 << 20);

  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    const int64_t t_ms = NowMillis();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int status = flags.status;
    int retry_after = -1;
    double phase_end = 0;
    for (const Phase& p : flags.phases) {
      phase_end += p.seconds;
      if (elapsed < phase_end) {
        status = p.status;
        retry_after = p.retry_after;
        break;
      }
    }
    if (flags.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(flags.delay_ms));
    res.status = status;
    if (retry_after >= 0) res.set_header("Retry-After", std::to_string(retry_after));

    if (out == nullptr && !flags.print) return;
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : req.headers) {
      if (!IsPseudoHeader(name)) headers[name] = value;
    }
    if (out != nullptr) {
      nlohmann::json line = {{"t_ms", t_ms},     {"method", req.method}, {"path", req.path},
                             {"status", status}, {"headers", headers},   {"body", req.body}};
      std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      text.push_back('\n');
      std::lock_guard<std::mutex> lock(mu);
      std::fwrite(text.data(), 1, text.size(), out);
      std::fflush(out);
    }
    if (flags.print) {
      std::string text = req.method + " " + req.path + " -> " + std::to_string(status) + "\n";
      for (const auto& [name, value] : req.headers) {
        if (!IsPseudoHeader(name)) text += "  " + name + ": " + value + "\n";
      }
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      text += body.is_discarded() ? req.body : body.dump(2);
      text += "\n\n";
      std::lock_guard<std::mutex> lock(mu);
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  server.Post(R"(.*)", handler);
  server.Put(R"(.*)", handler);

  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port(flags.host);
  } else if (!server.bind_to_port(flags.host, port)) {
    port = -1;
  }
  if (port <= 0) Fail("cannot listen on " + flags.host + ":" + std::to_string(flags.port));
  RaiseBacklog(port);
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}

}  // namespace
}  // namespace webhookgw

int main(int argc, char** argv) { return webhookgw::Main(argc, argv); }
