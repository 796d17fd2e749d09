// How compute threads start: their name, CPU priority and CPU, from config.
#pragma once

#include "config/config.hpp"

#include <cstddef>
#include <functional>
#include <string>

namespace compresstest {

// Names the calling thread (first 15 bytes) for top -H, ps -L and /proc/PID/task/*/comm.
void name_this_thread(const std::string& name);

// Resolves 0 ("one per hardware thread") to a count.
std::size_t thread_count(std::size_t configured);

// What compute thread i runs first (thread_pool's on_thread_start): names it compute-i, sets
// cfg.compute_priority and, with cfg.pin_compute_threads, pins it to the i-th allowed CPU.
std::function<void(std::size_t)> compute_thread_start(const config& cfg);

} // namespace compresstest
