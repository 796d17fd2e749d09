// The access-log line, one per request, shared by the socket server and the Lambda face.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace compresstest {

// "2026-12-01T19:14:31.123Z CLIENT METHOD TARGET STATUS NBYTES ELAPSEDus\n", where client is
// the peer address (socket) or the invocation's request id (Lambda). Fields a client sent are
// cut and shown as printable ASCII, so a line is always one line.
std::string access_log_line(std::string_view client, std::string_view method,
                            std::string_view target, unsigned status, std::size_t nbytes_sent,
                            std::chrono::microseconds elapsed);

} // namespace compresstest
