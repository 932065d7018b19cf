#ifndef WEBHOOKGW_GATEWAY_LOG_H_
#define WEBHOOKGW_GATEWAY_LOG_H_

#include <string_view>

#include "absl/strings/str_cat.h"

namespace webhookgw {

// A very small logging facade: one line per call, leveled, key=value or JSON
// lines. Debian's Abseil (20220623) has no absl/log, and this project needs
// no more than this. Thread-safe: each line is written with one write(2).
enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

enum class LogFormat { kText, kJson };

// Sets the lowest level written and the line format. Call once at start (or
// on reload); reads are relaxed atomics.
void SetLogOptions(LogLevel min_level, LogFormat format);

// Parses "debug", "info", "warn", "error".
bool ParseLogLevel(std::string_view text, LogLevel* level);

bool LogEnabled(LogLevel level);

// Writes one line: time, level, component, message and fields. `fields` is a
// space-separated list of key=value pairs as built by the caller; values
// that need quoting must be quoted with LogQuote(). Never pass payloads or
// secrets.
void LogLine(LogLevel level, std::string_view component, std::string_view message,
             std::string_view fields = {});

// Quotes a value for a key=value field when it holds spaces or quotes.
std::string LogQuote(std::string_view value);

}  // namespace webhookgw

#define WGW_LOG(level, component, message, ...)                              \
  do {                                                                       \
    if (::webhookgw::LogEnabled(::webhookgw::LogLevel::level)) {             \
      ::webhookgw::LogLine(::webhookgw::LogLevel::level, component, message, \
                           ::absl::StrCat(__VA_ARGS__));                     \
    }                                                                        \
  } while (0)

#endif  // WEBHOOKGW_GATEWAY_LOG_H_
