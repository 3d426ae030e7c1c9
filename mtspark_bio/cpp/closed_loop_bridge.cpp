// Closed-loop bridge: the compiled network's side of the agent-environment exchange.
//
// Brian2 puts user functions' support code in an anonymous namespace per code object,
// so state shared between code objects lives here, in its own translation unit.
//
// Once per agent step, in this order (run_regularly slots, see mtspark_bio/agent.py):
//   1. bridge_report(i, count)  every output neuron hands over its spike count;
//   2. bridge_exchange(t)       writes [t, counts...] (doubles) to the FIFO named by
//                               MTSPARK_BRIDGE_TO_PY and reads the reply
//                               [modulator (n_out), tag (n_out), drive (n_out),
//                                observation (n_in)]
//                               from MTSPARK_BRIDGE_FROM_PY;
//   3. bridge_modulator(i), bridge_tag(i), bridge_drive(i), bridge_observation(i) hand the reply to
//      the output neurons and the input encoder.
// Sizes come from MTSPARK_BRIDGE_N_OUT / MTSPARK_BRIDGE_N_IN. If the Python side goes
// away the binary exits with status 75, which Brian2 reports as a failed run.
#include "closed_loop_bridge.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace {
int n_out = -1, n_in = -1;
int to_python = -1, from_python = -1;
std::vector<double> message, reply;

int environment_int(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) {
        std::fprintf(stderr, "closed-loop bridge: environment variable %s is not set\n", name);
        std::exit(75);
    }
    return std::atoi(value);
}

void set_up() {
    if (n_out >= 0) return;
    n_out = environment_int("MTSPARK_BRIDGE_N_OUT");
    n_in = environment_int("MTSPARK_BRIDGE_N_IN");
    message.assign(1 + n_out, 0.0);
    reply.assign(3 * n_out + n_in, 0.0);
}

int open_fifo(const char* variable, int flags) {
    const char* path = std::getenv(variable);
    if (path == nullptr) {
        std::fprintf(stderr, "closed-loop bridge: environment variable %s is not set\n", variable);
        std::exit(75);
    }
    int fd;
    do { fd = open(path, flags); } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        std::fprintf(stderr, "closed-loop bridge: cannot open %s: %s\n", path, std::strerror(errno));
        std::exit(75);
    }
    return fd;
}

void transfer(int fd, char* buffer, size_t size, bool writing) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = writing ? write(fd, buffer + done, size - done) : read(fd, buffer + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::fprintf(stderr, "closed-loop bridge: the Python side closed the pipe\n");
            std::exit(75);
        }
        done += static_cast<size_t>(n);
    }
}
}  // namespace

double bridge_report(int i, double count) {
    set_up();
    message[1 + i] = count;
    return 0.0;  // the caller stores this: it clears the counter
}

double bridge_exchange(double t) {
    set_up();
    if (to_python < 0) to_python = open_fifo("MTSPARK_BRIDGE_TO_PY", O_WRONLY);
    message[0] = t;
    transfer(to_python, reinterpret_cast<char*>(message.data()), message.size() * sizeof(double), true);
    // opened after the first message: the Python side opens its end when one arrives
    if (from_python < 0) from_python = open_fifo("MTSPARK_BRIDGE_FROM_PY", O_RDONLY);
    transfer(from_python, reinterpret_cast<char*>(reply.data()), reply.size() * sizeof(double), false);
    return 1.0;
}

double bridge_modulator(int i) { return reply[i]; }
double bridge_tag(int i) { return reply[n_out + i]; }
double bridge_drive(int i) { return reply[2 * n_out + i]; }
double bridge_observation(int i) { return reply[3 * n_out + i]; }
