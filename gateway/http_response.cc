#include "gateway/http_response.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {
namespace {

// A Retry-After value longer than this is not a delay or a date; it is
// kept truncated and then fails to parse.
constexpr size_t kMaxRetryAfterBytes = 64;

HttpResponseReader* Self(http_parser* p) { return static_cast<HttpResponseReader*>(p->data); }

}  // namespace

HttpResponseReader::HttpResponseReader() {
  http_parser_settings_init(&settings_);
  settings_.on_header_field = &OnHeaderField;
  settings_.on_header_value = &OnHeaderValue;
  settings_.on_headers_complete = &OnHeadersComplete;
  settings_.on_message_complete = &OnMessageComplete;
  Reset();
}

void HttpResponseReader::Reset() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  started_ = false;
  done_ = false;
  status_ = 0;
  keep_alive_ = false;
  retry_after_.clear();
  error_.clear();
  field_.clear();
  field_complete_ = false;
  in_retry_after_ = false;
}

int HttpResponseReader::OnHeaderField(http_parser* p, const char* at, size_t len) {
  HttpResponseReader* self = Self(p);
  if (self->field_complete_) {
    self->field_.clear();
    self->field_complete_ = false;
  }
  // Only one name is of interest; longer ones need not be kept.
  if (self->field_.size() < 16) self->field_.append(at, std::min<size_t>(len, 16));
  self->in_retry_after_ = false;
  return 0;
}

int HttpResponseReader::OnHeaderValue(http_parser* p, const char* at, size_t len) {
  HttpResponseReader* self = Self(p);
  if (!self->field_complete_) {
    self->field_complete_ = true;
    self->in_retry_after_ = absl::EqualsIgnoreCase(self->field_, "retry-after");
    if (self->in_retry_after_) self->retry_after_.clear();
  }
  if (self->in_retry_after_ && self->retry_after_.size() < kMaxRetryAfterBytes) {
    self->retry_after_.append(at, std::min(len, kMaxRetryAfterBytes - self->retry_after_.size()));
  }
  return 0;
}

int HttpResponseReader::OnHeadersComplete(http_parser* p) {
  HttpResponseReader* self = Self(p);
  self->status_ = static_cast<int>(p->status_code);
  self->field_.clear();
  self->field_complete_ = false;
  self->in_retry_after_ = false;
  // The request was a POST: a response carries a body unless its status
  // says otherwise, which http-parser knows.
  return 0;
}

int HttpResponseReader::OnMessageComplete(http_parser* p) {
  HttpResponseReader* self = Self(p);
  int status = static_cast<int>(p->status_code);
  if (status >= 100 && status < 200) {
    // An interim response (100 Continue, 103 Early Hints): the final one
    // follows on the same connection.
    self->retry_after_.clear();
    return 0;
  }
  self->done_ = true;
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  // Stop here: anything after the response is not ours to read.
  http_parser_pause(p, 1);
  return 0;
}

HttpResponseReader::Progress HttpResponseReader::Feed(const char* data, size_t len) {
  if (done_) {
    if (len == 0) return Progress::kDone;
    keep_alive_ = false;
    error_ = "bytes after the response";
    return Progress::kError;
  }
  if (!error_.empty()) return Progress::kError;
  if (len > 0) started_ = true;
  size_t used = http_parser_execute(&parser_, &settings_, data, len);
  enum http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (done_) {
    if (used < len) {
      // The server sent more than one response to one request, or garbage
      // after it: keep the answer, drop the connection.
      keep_alive_ = false;
    }
    return Progress::kDone;
  }
  if (err != HPE_OK) {
    error_ = absl::StrCat("malformed response: ", http_errno_description(err));
    return Progress::kError;
  }
  return Progress::kNeedMore;
}

HttpResponseReader::Progress HttpResponseReader::FeedEof() {
  if (done_) return Progress::kDone;
  if (!error_.empty()) return Progress::kError;
  if (!started_) {
    error_ = "connection closed before a response";
    return Progress::kError;
  }
  // A zero-length execute tells http-parser the stream ended.
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (done_) {
    keep_alive_ = false;
    return Progress::kDone;
  }
  error_ = "connection closed in the middle of a response";
  return Progress::kError;
}

}  // namespace webhookgw
