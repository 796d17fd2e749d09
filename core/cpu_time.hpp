// The calling thread's CPU clock, which every measurement of codec work reads.
#pragma once

#include <ctime>

namespace compresstest {

// CPU time the calling thread has used, in milliseconds (CLOCK_THREAD_CPUTIME_ID): not wall
// time, so other threads and processes on the machine do not inflate a codec's figures.
inline double thread_cpu_ms() noexcept {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

} // namespace compresstest
