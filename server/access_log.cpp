// The access-log line, one per request, shared by the socket server and the Lambda face.
#include "access_log.hpp"

#include "text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace compresstest {
namespace {
constexpr std::size_t client_max_nbytes = 64;
constexpr std::size_t method_max_nbytes = 16;
constexpr std::size_t target_max_nbytes = 256;
} // namespace

std::string access_log_line(std::string_view client, std::string_view method,
                            std::string_view target, unsigned status, std::size_t nbytes_sent,
                            std::chrono::microseconds elapsed) {
    return fmt::format(
        "{:%FT%T}Z {} {} {} {} {} {}us\n",
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()),
        text::printable(client, client_max_nbytes), text::printable(method, method_max_nbytes),
        text::printable(target, target_max_nbytes), status, nbytes_sent, elapsed.count());
}

} // namespace compresstest
