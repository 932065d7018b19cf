// webhook-fake-gateway: serves the fake gateway on a port until killed, so
// that webhook-eventgen can measure the adapter without a real gateway.
//
// Usage: webhook-fake-gateway [port]

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "broker_adapter/fake_gateway.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 7070;
  // Blocked before gRPC starts its threads, so that they inherit the mask
  // and sigwait below is the only receiver.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  webhookgw::FakeGateway gateway(/*record=*/false);
  auto bound = gateway.Start(port);
  if (!bound.ok()) {
    std::fprintf(stderr, "%s\n", std::string(bound.status().message()).c_str());
    return 1;
  }
  std::printf("fake gateway listening on 127.0.0.1:%d\n", *bound);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("received %llu events\n", static_cast<unsigned long long>(gateway.received()));
  gateway.Stop();
  return 0;
}
