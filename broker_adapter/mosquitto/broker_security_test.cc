#include "broker_adapter/mosquitto/broker_security.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::HasSubstr;

constexpr CheckAnswers kAuto{CheckAnswer::kAuto, CheckAnswer::kAuto};

BrokerSecurity Scan(std::string_view text) {
  BrokerSecurity s;
  absl::Status status = ScanBrokerConfig(text, "test.conf", &s);
  EXPECT_TRUE(status.ok()) << status;
  return s;
}

CheckAnswers Resolve(std::string_view text) {
  absl::StatusOr<CheckAnswers> a =
      ResolveCheckAnswers(Scan(text), kAuto, "/p/webhookgw_mosquitto.so");
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : CheckAnswers{CheckAnswer::kAuto, CheckAnswer::kAuto};
}

TEST(BrokerSecurityTest, AnonymousWithoutFilesIsAllowed) {
  CheckAnswers a = Resolve("listener 1883\nallow_anonymous true\n");
  EXPECT_EQ(CheckAnswer::kAllow, a.basic_auth);
  EXPECT_EQ(CheckAnswer::kAllow, a.acl_check);
}

TEST(BrokerSecurityTest, ListenerWithoutAllowAnonymousDeniesEveryone) {
  EXPECT_EQ(CheckAnswer::kDeny, Resolve("listener 1883\n").basic_auth);
  EXPECT_EQ(CheckAnswer::kDeny, Resolve("port 1883\nallow_anonymous false\n").basic_auth);
}

TEST(BrokerSecurityTest, NoListenerIsLocalOnlyModeWithAnonymousAllowed) {
  EXPECT_EQ(CheckAnswer::kAllow, Resolve("# nothing\n").basic_auth);
}

TEST(BrokerSecurityTest, PasswordAndAclFilesAreDeferredTo) {
  CheckAnswers a = Resolve(
      "listener 1883 127.0.0.1\n  password_file /etc/pw  \nacl_file\t/etc/acl\n"
      "plugin /usr/lib/webhookgw_mosquitto.so\nplugin_opt_target gw:1\n");
  EXPECT_EQ(CheckAnswer::kDefer, a.basic_auth);
  EXPECT_EQ(CheckAnswer::kDefer, a.acl_check);
}

TEST(BrokerSecurityTest, ExplicitAnswersWin) {
  absl::StatusOr<CheckAnswers> a =
      ResolveCheckAnswers(Scan("password_file /x\n"), {CheckAnswer::kAuto, CheckAnswer::kDefer},
                          "webhookgw_mosquitto.so");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(CheckAnswer::kDefer, a->basic_auth);
  EXPECT_EQ(CheckAnswer::kDefer, a->acl_check);
}

TEST(BrokerSecurityTest, UndecidableSetupsAskForExplicitOptions) {
  EXPECT_THAT(
      ResolveCheckAnswers(Scan("per_listener_settings true\n"), kAuto, "w.so").status().message(),
      HasSubstr("per_listener_settings is true: set plugin_opt_basic_auth"));
  EXPECT_THAT(ResolveCheckAnswers(Scan("plugin /usr/lib/dynamic-security.so\n"), kAuto, "w.so")
                  .status()
                  .message(),
              HasSubstr("plugin /usr/lib/dynamic-security.so may take part"));
  // Stating both answers needs no reading of the file at all.
  EXPECT_TRUE(ResolveCheckAnswers(Scan("per_listener_settings true\n"),
                                  {CheckAnswer::kDefer, CheckAnswer::kAllow}, "w.so")
                  .ok());
}

TEST(BrokerSecurityTest, BadBooleanNamesFileLineAndKey) {
  BrokerSecurity s;
  absl::Status status = ScanBrokerConfig("\nallow_anonymous maybe\n", "m.conf", &s);
  EXPECT_THAT(status.message(),
              HasSubstr("m.conf:2: allow_anonymous: expected true or false, got \"maybe\""));
}

TEST(BrokerSecurityTest, ReadsIncludeDirInNameOrder) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wgw_sec_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "conf.d");
  std::ofstream(dir / "main.conf")
      << "listener 1\ninclude_dir " << (dir / "conf.d").string() << "\n";
  std::ofstream(dir / "conf.d" / "a.conf") << "allow_anonymous false\n";
  std::ofstream(dir / "conf.d" / "b.conf") << "allow_anonymous true\nacl_file /acl\n";
  std::ofstream(dir / "conf.d" / "c.txt") << "password_file /ignored\n";

  absl::StatusOr<BrokerSecurity> s = ReadBrokerConfig((dir / "main.conf").string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(true, s->allow_anonymous);
  EXPECT_TRUE(s->acl_file);
  EXPECT_FALSE(s->password_file);
}

TEST(BrokerSecurityTest, MissingFileIsAnError) {
  EXPECT_EQ(absl::StatusCode::kNotFound, ReadBrokerConfig("/nonexistent/m.conf").status().code());
}

}  // namespace
}  // namespace webhookgw
