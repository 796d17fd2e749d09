// How compute threads start: their name, CPU priority and CPU, from config.
#include "compute_threads.hpp"

#include <fmt/format.h>

#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace compresstest {
namespace {

constexpr int low_nice = 10;

// The CPUs this process may run on (a container's cpuset, taskset), in ascending order.
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

} // namespace

void name_this_thread(const std::string& name) {
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str()); // Linux: 15 + NUL
}

std::size_t thread_count(std::size_t configured) {
    if (configured != 0) return configured;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
}

std::function<void(std::size_t)> compute_thread_start(const config& cfg) {
    return [priority = cfg.compute_priority,
            cpus = cfg.pin_compute_threads ? allowed_cpus() : std::vector<int>{}](std::size_t i) {
        name_this_thread(fmt::format("compute-{}", i));
        // Codecs get the CPU that I/O threads leave, which keeps /healthz and /tiny fast while
        // reports saturate every core. Linux applies both per thread.
        if (priority == "idle") {
            const sched_param param{};
            ::sched_setscheduler(0, SCHED_IDLE, &param);
        } else if (priority == "low") {
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), low_nice);
        }
        if (!cpus.empty()) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpus[i % cpus.size()], &set);
            ::sched_setaffinity(0, sizeof set, &set); // best effort, like priority
        }
    };
}

} // namespace compresstest
