// webhook-gateway: receives broker events from adapters over gRPC and
// delivers them as NanoMQ/EMQX 4 compatible webhooks.

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/admin_server.h"
#include "gateway/config.h"
#include "gateway/event_stream.h"
#include "gateway/gateway.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {

constexpr char kComponent[] = "main";
constexpr char kServiceName[] = "webhookgw.v1.EventGateway";

constexpr char kUsage[] =
    "usage: webhook-gateway --config FILE\n"
    "       webhook-gateway --check-config FILE\n"
    "       webhook-gateway --version | --help\n"
    "\n"
    "Receives MQTT broker events from broker adapters over gRPC and delivers\n"
    "them as HTTP webhooks in NanoMQ / EMQX 4 format.\n"
    "\n"
    "  --config FILE        run with the HOCON config FILE (NanoMQ's webhook\n"
    "                       block, webhooks = [...], gateway { ... })\n"
    "  --check-config FILE  validate FILE, print what is wrong, and exit\n"
    "                       (status 0 when valid, 1 when not)\n"
    "  --version            print the version and exit\n"
    "  --help               print this text and exit\n"
    "\n"
    "Signals: SIGTERM and SIGINT drain and exit 0; SIGHUP reloads the config\n"
    "(webhooks and logging) after validating it.\n";

int CheckConfig(const std::string& path) {
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  std::printf("%s: ok (%zu webhook%s)\n", path.c_str(), config->webhooks.size(),
              config->webhooks.size() == 1 ? "" : "s");
  return 0;
}

void ApplyLogOptions(const GatewaySettings& settings) {
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(settings.log_level, &level);
  SetLogOptions(level, settings.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
}

// SIGHUP: the file is validated first; a broken one changes nothing.
void Reload(const std::string& path, Gateway* gateway) {
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) {
    WGW_LOG(kError, kComponent, "config reload refused, keeping the running config",
            "error=", LogQuote(std::string(config.status().message())));
    return;
  }
  absl::Status reloaded = gateway->Reload(*config);
  if (!reloaded.ok()) {
    WGW_LOG(kError, kComponent, "config reload refused, keeping the running config",
            "error=", LogQuote(std::string(reloaded.message())));
    return;
  }
  ApplyLogOptions(config->gateway);
}

int Run(const std::string& path) {
  // Signals are taken by sigwait below; block them before any thread starts
  // so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  ApplyLogOptions(config->gateway);
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Create(*config);
  if (!gateway.ok()) {
    WGW_LOG(kError, kComponent, "cannot start",
            "error=", LogQuote(std::string(gateway.status().message())));
    return 1;
  }
  (*gateway)->Start();

  grpc::EnableDefaultHealthCheckService(true);
  EventGatewayService service(gateway->get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->gateway.grpc_listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  // A batch may hold max_batch_events events of up to max_event_bytes; the
  // per-event limit is enforced (and counted) by the stream itself.
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(INT32_MAX, config->gateway.max_event_bytes * 4 + (4 << 20))));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    WGW_LOG(kError, kComponent, "cannot listen",
            "grpc_listen=", LogQuote(config->gateway.grpc_listen));
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  std::string listen = config->gateway.grpc_listen;
  listen = absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);

  AdminServer admin(gateway->get());
  std::string admin_listen = "off";
  if (!config->gateway.admin_listen.empty()) {
    absl::Status started = admin.Start(config->gateway.admin_listen);
    if (!started.ok()) {
      WGW_LOG(kError, kComponent, "cannot start",
              "error=", LogQuote(std::string(started.message())));
      return 1;
    }
    admin_listen = config->gateway.admin_listen;
    admin_listen = absl::StrCat(admin_listen.substr(0, admin_listen.rfind(':')), ":", admin.port());
  }
  admin.set_ready(true);
  WGW_LOG(kInfo, kComponent, "started", "version=" WEBHOOKGW_VERSION, " grpc_listen=", listen,
          " admin_listen=", admin_listen, " webhooks=", config->webhooks.size());

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    Reload(path, gateway->get());
  }
  absl::Time deadline = absl::Now() + config->gateway.drain_grace;
  WGW_LOG(kInfo, kComponent, "stopping", "signal=", strsignal(signal_number));
  server->GetHealthCheckService()->SetServingStatus(kServiceName, false);
  (*gateway)->Drain(deadline);
  // Streams whose events are finished end by themselves; the rest are
  // cancelled at the deadline and their adapters resend elsewhere.
  server->Shutdown(absl::ToChronoTime(std::max(deadline, absl::Now() + absl::Milliseconds(200))));
  WGW_LOG(kInfo, kComponent, "stopped");
  return 0;
}

}  // namespace
}  // namespace webhookgw

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(webhookgw::kUsage, stdout);
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("webhook-gateway %s\n", WEBHOOKGW_VERSION);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) {
    return webhookgw::CheckConfig(argv[2]);
  }
  if (argc == 3 && std::strcmp(argv[1], "--config") == 0) {
    return webhookgw::Run(argv[2]);
  }
  std::fputs(webhookgw::kUsage, stderr);
  return 2;
}
