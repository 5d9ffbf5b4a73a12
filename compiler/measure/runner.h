// Where benchmark binaries run: this machine, an ARM board over ssh, an
// Android device over adb, or qemu-aarch64 here (for tests: the protocol and
// the numbers' correctness are real, the timings are not). `shufflec bench`,
// `profile` and `tune` take one or more `--runner` specs:
//
//   local                          this machine (default)
//   ssh://[user@]host[:port][/dir]  scp the files to dir (absolute: ssh://pi@board/tmp/sc is /tmp/sc;
//                                  ssh://pi@board/~/sc is ~/sc; default ~/.shufflec-runner), run there with ssh
//   adb[:SERIAL]                   adb push to /data/local/tmp/shufflec-runner, run with adb shell
//   qemu                           this machine, aarch64 binaries under qemu-aarch64
//
// ssh and adb run as the user already uses them (keys, ~/.ssh/config, adb's
// device list): shufflec adds no daemon. The commands can be replaced with
// $SHUFFLEC_SSH, $SHUFFLEC_SCP and $SHUFFLEC_ADB (e.g. to add options).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/process.h"

namespace shufflec {

class Runner {
public:
    virtual ~Runner() = default;
    // As given on the command line (for messages and logs).
    virtual std::string name() const = 0;
    // What binaries it runs: "x86-64" or "arm-64" (asked from the machine once).
    virtual std::string arch() = 0;
    // Copies local files into the runner's work folder under their own names.
    virtual void put(const std::vector<std::string> &local_files) = 0;
    // Runs `program` (a file put before) with `args` in the work folder.
    virtual ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) = 0;
    // Whether binaries for it are linked statically (remote machines may have another libc).
    virtual bool wants_static() const { return true; }
    // Runs programs under qemu with this TCG plugin ("PATH,arg=value"; "" for
    // none): the qemu runner only, an error on the others.
    virtual void set_qemu_plugin(const std::string &plugin);
};

// Parses a --runner spec; errors name the flag and the forms it takes.
std::unique_ptr<Runner> make_runner(const std::string &spec);

// The machine a runner measures on, for logs: this CPU's model name
// (/proc/cpuinfo) for `local`, else the runner's name.
std::string machine_name(const Runner &runner);

// ssh://[user@]host[:port][/dir], parsed strictly: user and host are names or
// addresses (letters, digits, . _ -; a host may be [IPv6]), never starting with
// '-' (they reach ssh's command line); no control characters anywhere.
struct SshAddress {
    std::string user, host;
    int port = 0;     // 0: ssh's default
    std::string dir;  // absolute ("/tmp/sc"), or "~/..." in the home folder (ssh://host/~/sc; default ~/.shufflec-runner)
};
SshAddress parse_ssh_runner(const std::string &spec);

// Parses a runner spec without starting anything (an error names the flag).
void check_runner_spec(const std::string &spec);

// The runners of --runner values, each a comma-separated list ("R1,R2", or the
// flag repeated), each checked; an empty entry is an error.
std::vector<std::string> split_runners(const std::vector<std::string> &values);

// The arch of this machine ("x86-64" or "arm-64").
std::string host_arch();

}  // namespace shufflec
