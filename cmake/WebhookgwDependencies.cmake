# Every dependency is a Debian 12 package; cmake/install-deps.sh installs them.
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
# cpp-httplib is packaged as a compiled library with a pkg-config file; its
# Cflags carry the feature macros that must match the library's ABI.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(MOSQUITTO IMPORTED_TARGET libmosquitto)
if(WEBHOOKGW_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
