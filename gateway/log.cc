#include "gateway/log.h"

#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace webhookgw {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// Splits `a=1 b="x y"` into pairs, honouring quotes made by LogQuote.
std::vector<std::pair<std::string, std::string>> SplitFields(std::string_view fields) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < fields.size()) {
    while (i < fields.size() && fields[i] == ' ') ++i;
    size_t eq = fields.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(fields.substr(i, eq - i));
    std::string value;
    size_t j = eq + 1;
    if (j < fields.size() && fields[j] == '"') {
      for (++j; j < fields.size() && fields[j] != '"'; ++j) {
        if (fields[j] == '\\' && j + 1 < fields.size()) ++j;
        value.push_back(fields[j]);
      }
      ++j;
    } else {
      while (j < fields.size() && fields[j] != ' ') value.push_back(fields[j++]);
    }
    out.emplace_back(std::move(key), std::move(value));
    i = j;
  }
  return out;
}

}  // namespace

void SetLogOptions(LogLevel min_level, LogFormat format) {
  g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

std::string LogQuote(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \"=\\") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void LogLine(LogLevel level, std::string_view component, std::string_view message,
             std::string_view fields) {
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == static_cast<int>(LogFormat::kJson)) {
    line = absl::StrCat("{\"time\":\"", time, "\",\"level\":\"", LevelName(level),
                        "\",\"component\":");
    AppendJsonString(component, &line);
    line += ",\"msg\":";
    AppendJsonString(message, &line);
    for (const auto& [key, value] : SplitFields(fields)) {
      line.push_back(',');
      AppendJsonString(key, &line);
      line.push_back(':');
      AppendJsonString(value, &line);
    }
    line += "}\n";
  } else {
    line = absl::StrCat(time, " level=", LevelName(level),
                        " component=", absl::string_view(component.data(), component.size()),
                        " msg=", LogQuote(message));
    if (!fields.empty()) {
      line.push_back(' ');
      line.append(fields);
    }
    line.push_back('\n');
  }
  // One write per line keeps lines whole when threads log at once.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace webhookgw
