#ifndef WEBHOOKGW_GATEWAY_HTTP_RESPONSE_H_
#define WEBHOOKGW_GATEWAY_HTTP_RESPONSE_H_

#include <http_parser.h>

#include <cstddef>
#include <string>

namespace webhookgw {

// Reads the response to one HTTP/1.1 request from bytes as they arrive on a
// connection. The framing (status line, headers, Content-Length, chunked
// bodies, bodies ended by the peer closing) is http-parser's; this keeps
// what delivery needs: the status, Retry-After and whether the connection
// may carry another request. The body is read and discarded.
//
// One request is in flight per connection, so bytes after the response are
// a protocol error; the connection is then not reused.
class HttpResponseReader {
 public:
  enum class Progress { kNeedMore, kDone, kError };

  HttpResponseReader();
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;

  // Starts over for the next request's response.
  void Reset();

  // Feeds the next `len` bytes. kDone once the final (non-1xx) response is
  // complete; kError with error() set when the bytes are not HTTP.
  Progress Feed(const char* data, size_t len);

  // The peer closed the connection: completes a response whose body runs
  // to the end of the stream, and is an error otherwise.
  Progress FeedEof();

  // Whether any byte of a response has arrived since Reset.
  bool started() const { return started_; }
  int status() const { return status_; }
  // The Retry-After header's value, "" when absent.
  const std::string& retry_after() const { return retry_after_; }
  // Whether the connection may be used for another request.
  bool keep_alive() const { return keep_alive_; }
  const std::string& error() const { return error_; }

 private:
  static int OnHeaderField(http_parser* p, const char* at, size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnMessageComplete(http_parser* p);

  http_parser parser_;
  http_parser_settings settings_;
  bool started_ = false;
  bool done_ = false;
  int status_ = 0;
  bool keep_alive_ = false;
  std::string retry_after_;
  std::string error_;
  // The header being read: its name (so far), and whether it is Retry-After.
  std::string field_;
  bool field_complete_ = false;
  bool in_retry_after_ = false;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_HTTP_RESPONSE_H_
