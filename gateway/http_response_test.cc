#include "gateway/http_response.h"

#include <string>

#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using Progress = HttpResponseReader::Progress;

// Feeds `text` one byte at a time, as the slowest network would.
Progress FeedBytewise(HttpResponseReader& reader, const std::string& text) {
  Progress p = Progress::kNeedMore;
  for (char c : text) {
    p = reader.Feed(&c, 1);
    if (p != Progress::kNeedMore) break;
  }
  return p;
}

TEST(HttpResponseReaderTest, ContentLengthResponseInOnePiece) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 200);
  EXPECT_TRUE(reader.keep_alive());
  EXPECT_EQ(reader.retry_after(), "");
}

TEST(HttpResponseReaderTest, SplitAnywhere) {
  std::string text =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 3\r\n\r\nbye";
  HttpResponseReader reader;
  EXPECT_EQ(FeedBytewise(reader, text), Progress::kDone);
  EXPECT_EQ(reader.status(), 503);
  EXPECT_EQ(reader.retry_after(), "120");
}

TEST(HttpResponseReaderTest, RetryAfterNameIsCaseInsensitiveAndDateKept) {
  HttpResponseReader reader;
  std::string text =
      "HTTP/1.1 429 Too Many\r\nrEtRy-AfTeR: Wed, 21 Oct 2026 07:28:00 GMT\r\n"
      "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_EQ(reader.retry_after(), "Wed, 21 Oct 2026 07:28:00 GMT");
}

TEST(HttpResponseReaderTest, ChunkedBody) {
  HttpResponseReader reader;
  std::string text =
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\n\r\n";
  EXPECT_EQ(FeedBytewise(reader, text), Progress::kDone);
  EXPECT_EQ(reader.status(), 201);
  EXPECT_TRUE(reader.keep_alive());
}

TEST(HttpResponseReaderTest, ConnectionCloseIsNotReusable) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 204);
  EXPECT_FALSE(reader.keep_alive());
}

TEST(HttpResponseReaderTest, Http10WithoutKeepAliveIsNotReusable) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_FALSE(reader.keep_alive());
}

TEST(HttpResponseReaderTest, BodyUntilCloseEndsAtEof) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.1 200 OK\r\n\r\npartial body";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kNeedMore);
  EXPECT_EQ(reader.FeedEof(), Progress::kDone);
  EXPECT_EQ(reader.status(), 200);
  EXPECT_FALSE(reader.keep_alive());
}

TEST(HttpResponseReaderTest, InterimResponsesAreSkipped) {
  HttpResponseReader reader;
  std::string text =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 202);
}

TEST(HttpResponseReaderTest, EofBeforeAnyByte) {
  HttpResponseReader reader;
  EXPECT_FALSE(reader.started());
  EXPECT_EQ(reader.FeedEof(), Progress::kError);
  EXPECT_EQ(reader.error(), "connection closed before a response");
}

TEST(HttpResponseReaderTest, EofInsideBody) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kNeedMore);
  EXPECT_TRUE(reader.started());
  EXPECT_EQ(reader.FeedEof(), Progress::kError);
  EXPECT_EQ(reader.error(), "connection closed in the middle of a response");
}

TEST(HttpResponseReaderTest, GarbageIsAnError) {
  HttpResponseReader reader;
  std::string text = "SSH-2.0-OpenSSH_9.2\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kError);
  EXPECT_NE(reader.error().find("malformed response"), std::string::npos) << reader.error();
}

TEST(HttpResponseReaderTest, ExtraBytesAfterTheResponseEndReuse) {
  HttpResponseReader reader;
  std::string text =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 200);
  EXPECT_FALSE(reader.keep_alive());
}

TEST(HttpResponseReaderTest, ResetReadsTheNextResponse) {
  HttpResponseReader reader;
  std::string first = "HTTP/1.1 500 Oops\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n";
  std::string second = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(reader.Feed(first.data(), first.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 500);
  reader.Reset();
  EXPECT_EQ(reader.Feed(second.data(), second.size()), Progress::kDone);
  EXPECT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.retry_after(), "");
}

TEST(HttpResponseReaderTest, OversizedHeadersAreAnError) {
  HttpResponseReader reader;
  std::string text = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(reader.Feed(text.data(), text.size()), Progress::kError);
}

}  // namespace
}  // namespace webhookgw
