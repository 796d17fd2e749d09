// compresstest lambda: placeholder until the Runtime API client lands.
#include "server/serve.hpp"

#include <iostream>

namespace compresstest {
int run_lambda(const std::vector<std::string>&, const std::vector<std::string>&) {
    std::cerr << "compresstest lambda: not built yet\n";
    return 1;
}
} // namespace compresstest
