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
# http-parser (Debian's libhttp-parser-dev) frames HTTP responses; it ships
# no CMake or pkg-config file.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(webhookgw::http_parser UNKNOWN IMPORTED)
set_target_properties(webhookgw::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")
pkg_check_modules(MOSQUITTO IMPORTED_TARGET libmosquitto)
if(WEBHOOKGW_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
