// Works out what mosquitto 2.0.11 would answer to a CONNECT or an access
// check without this plugin, so that the plugin can give the same answer.
//
// Why the plugin needs this at all: a v5 plugin that registers
// MOSQ_EVT_BASIC_AUTH or MOSQ_EVT_ACL_CHECK (the only callbacks that report
// connects, subscribes and deliveries in 2.0.11) must answer them, and no
// answer is neutral in every setup. Plugin callbacks run before the checks
// for password_file and acl_file (those are registered later, in
// mosquitto_security_init_default), so:
//   - MOSQ_ERR_SUCCESS skips the password and ACL files;
//   - MOSQ_ERR_PLUGIN_DEFER hands over to the next check, but when there is
//     none, mosquitto turns an all-deferred CONNECT with a username, and
//     every all-deferred access check, into a denial.
// Deferring is therefore right exactly when another check follows, and
// otherwise the broker's own fallback (allow_anonymous for CONNECT, allow
// for access checks) must be given. The v5 plugin API does not expose the
// broker's configuration, so either the operator states the answer
// (plugin_opt_basic_auth / plugin_opt_acl_check) or the plugin reads the
// configuration file the broker was started with.
#ifndef WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_BROKER_SECURITY_H_
#define WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_BROKER_SECURITY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker_adapter/mosquitto/plugin_options.h"

namespace webhookgw {

// The settings of a mosquitto 2.0 configuration that decide its answers.
struct BrokerSecurity {
  bool per_listener_settings = false;
  bool password_file = false;
  bool acl_file = false;
  std::optional<bool> allow_anonymous;  // unset: mosquitto's default applies
  bool has_listener = false;            // any `listener` or `port` line
  std::vector<std::string> plugins;     // `plugin` and `auth_plugin` paths
  std::vector<std::string> include_dirs;
};

// Adds the settings found in one configuration file's text to *security.
// `name` is used in error messages. Values are taken as mosquitto takes them:
// the last line wins, `#` starts a comment only at the start of a line.
absl::Status ScanBrokerConfig(std::string_view text, std::string_view name,
                              BrokerSecurity* security);

// Reads a configuration file and the `.conf` files of its include_dir
// directories (in name order, as mosquitto does).
absl::StatusOr<BrokerSecurity> ReadBrokerConfig(const std::string& path);

// The path given to the running broker with -c or --config-file, read from
// /proc/self/cmdline; NotFound when the broker was started without one.
absl::StatusOr<std::string> RunningBrokerConfigPath();

struct CheckAnswers {
  CheckAnswer basic_auth;
  CheckAnswer acl_check;
};

// Replaces kAuto answers by the broker's own answer for `security`.
// `own_plugin` is this plugin's file name: other `plugin` lines naming it are
// further instances of this plugin, which decide nothing. Fails, asking for
// explicit options, when the file cannot tell: per_listener_settings true, or
// another plugin that may take part in the checks.
absl::StatusOr<CheckAnswers> ResolveCheckAnswers(const BrokerSecurity& security,
                                                 CheckAnswers requested,
                                                 std::string_view own_plugin);

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_BROKER_SECURITY_H_
