#include "broker_adapter/mosquitto/broker_security.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace webhookgw {
namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open for reading"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::Status ScanBrokerConfig(std::string_view text, std::string_view name,
                              BrokerSecurity* security) {
  const absl::string_view file(name.data(), name.size());
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    absl::string_view key = words[0];
    absl::string_view value = words.size() > 1 ? words[1] : absl::string_view();

    if (key == "listener" || key == "port") {
      security->has_listener = true;
    } else if (key == "password_file") {
      security->password_file = !value.empty();
    } else if (key == "acl_file") {
      security->acl_file = !value.empty();
    } else if (key == "plugin" || key == "auth_plugin") {
      security->plugins.emplace_back(value);
    } else if (key == "include_dir") {
      security->include_dirs.emplace_back(value);
    } else if (key == "allow_anonymous" || key == "per_listener_settings") {
      if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ":", line_no, ": ", key, ": expected true or false, got \"", value, "\""));
      }
      if (key == "allow_anonymous") {
        security->allow_anonymous = value == "true";
      } else {
        security->per_listener_settings = value == "true";
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BrokerSecurity> ReadBrokerConfig(const std::string& path) {
  BrokerSecurity security;
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  if (auto s = ScanBrokerConfig(*text, path, &security); !s.ok()) return s;

  // include_dir is only honoured in the main file by mosquitto, so the
  // directories found here are not scanned for further include_dir lines.
  std::vector<std::string> dirs = security.include_dirs;
  for (const std::string& dir : dirs) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".conf") files.push_back(entry.path().string());
    }
    if (ec)
      return absl::NotFoundError(absl::StrCat(dir, ": cannot list include_dir: ", ec.message()));
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
      absl::StatusOr<std::string> part = ReadWholeFile(file);
      if (!part.ok()) return part.status();
      if (auto s = ScanBrokerConfig(*part, file, &security); !s.ok()) return s;
    }
  }
  return security;
}

absl::StatusOr<std::string> RunningBrokerConfigPath() {
  absl::StatusOr<std::string> cmdline = ReadWholeFile("/proc/self/cmdline");
  if (!cmdline.ok()) return cmdline.status();
  std::vector<absl::string_view> args = absl::StrSplit(*cmdline, absl::ByChar('\0'));
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-c" || args[i] == "--config-file") return std::string(args[i + 1]);
  }
  return absl::NotFoundError("broker command line: no -c configuration file");
}

absl::StatusOr<CheckAnswers> ResolveCheckAnswers(const BrokerSecurity& security,
                                                 CheckAnswers requested,
                                                 std::string_view own_plugin) {
  if (requested.basic_auth != CheckAnswer::kAuto && requested.acl_check != CheckAnswer::kAuto) {
    return requested;
  }
  const char* const kAsk = ": set plugin_opt_basic_auth and plugin_opt_acl_check explicitly";
  if (security.per_listener_settings) {
    return absl::FailedPreconditionError(
        absl::StrCat("broker configuration: per_listener_settings is true", kAsk));
  }
  for (const std::string& plugin : security.plugins) {
    if (BaseName(plugin) != BaseName(own_plugin)) {
      return absl::FailedPreconditionError(absl::StrCat("broker configuration: plugin ", plugin,
                                                        " may take part in auth checks", kAsk));
    }
  }

  CheckAnswers answers = requested;
  if (answers.basic_auth == CheckAnswer::kAuto) {
    // Without a listener line mosquitto 2.0 runs in local-only mode, where
    // anonymous clients are allowed unless the file says otherwise.
    bool anonymous = security.allow_anonymous.value_or(!security.has_listener);
    if (security.password_file) {
      answers.basic_auth = CheckAnswer::kDefer;
    } else {
      answers.basic_auth = anonymous ? CheckAnswer::kAllow : CheckAnswer::kDeny;
    }
  }
  if (answers.acl_check == CheckAnswer::kAuto) {
    answers.acl_check = security.acl_file ? CheckAnswer::kDefer : CheckAnswer::kAllow;
  }
  return answers;
}

}  // namespace webhookgw
