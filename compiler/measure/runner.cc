#include "measure/runner.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

std::string basename_of(const std::string &path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> command_of(const char *env, const std::string &fallback) {
    const char *v = std::getenv(env);
    std::string text = v && *v ? v : fallback;
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t space = text.find(' ', pos);
        std::string w = text.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
        if (!w.empty()) words.push_back(w);
        if (space == std::string::npos) break;
        pos = space + 1;
    }
    return words;
}

std::string arch_of_machine(const std::string &uname_m) {
    std::string m = uname_m.substr(0, uname_m.find_first_of("\r\n"));
    if (m == "x86_64") return "x86-64";
    if (m == "aarch64" || m == "arm64" || m == "armv8l") return "arm-64";
    fail("the runner's machine is ", in_quotes(m), ": shufflec runs on x86_64 and aarch64");
}

// This machine: a private temporary work folder; qemu: the same, through qemu-aarch64.
class LocalRunner : public Runner {
public:
    explicit LocalRunner(bool qemu) : qemu_(qemu) {
        char pattern[] = "/tmp/shufflec-runner-XXXXXX";
        if (!mkdtemp(pattern)) fail("--runner: cannot create a temporary folder: ", std::strerror(errno));
        dir_ = pattern;
    }
    ~LocalRunner() override { run_process({"rm", "-rf", dir_}); }
    std::string name() const override { return qemu_ ? "qemu" : "local"; }
    std::string arch() override { return qemu_ ? "arm-64" : host_arch(); }
    bool wants_static() const override { return qemu_; }
    void put(const std::vector<std::string> &files) override {
        for (const auto &f : files) {
            std::string to = join_path(dir_, basename_of(f));
            write_file_atomic(to, read_file(f));
            chmod(to.c_str(), 0755);
        }
    }
    ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) override {
        std::vector<std::string> argv;
        if (qemu_) argv = {"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"};
        argv.push_back("./" + program);
        argv.insert(argv.end(), args.begin(), args.end());
        ProcessOptions o;
        o.cwd = dir_;
        o.timeout_s = timeout_s;
        return run_process(argv, o);
    }

private:
    bool qemu_;
    std::string dir_;
};

// ssh://[user@]host[:port][/dir]
class SshRunner : public Runner {
public:
    explicit SshRunner(const std::string &spec) : spec_(spec) {
        std::string rest = spec.substr(6);
        auto slash = rest.find('/');
        if (slash != std::string::npos) dir_ = rest.substr(slash + 1), rest = rest.substr(0, slash);
        if (dir_.empty()) dir_ = ".shufflec-runner";
        auto colon = rest.rfind(':');
        if (colon != std::string::npos) {
            port_ = rest.substr(colon + 1), rest = rest.substr(0, colon);
            if (port_.empty() || port_.find_first_not_of("0123456789") != std::string::npos)
                fail("--runner ", in_quotes(spec), ": the port must be a number");
        }
        if (rest.empty() || rest.find_first_of(" '\"\\;$`") != std::string::npos)
            fail("--runner ", in_quotes(spec), ": expected ssh://[user@]host[:port][/dir]");
        host_ = rest;
        if (dir_.find('\'') != std::string::npos) fail("--runner ", in_quotes(spec), ": the folder may not contain quotes");
    }
    std::string name() const override { return spec_; }
    std::string arch() override {
        if (arch_.empty()) arch_ = arch_of_machine(checked(ssh({"uname -m && mkdir -p " + shell_quote(dir_)}), "uname"));
        return arch_;
    }
    void put(const std::vector<std::string> &files) override {
        arch();  // makes the folder
        std::vector<std::string> argv = command_of("SHUFFLEC_SCP", "scp -q -o BatchMode=yes");
        if (!port_.empty()) argv.insert(argv.end(), {"-P", port_});
        argv.insert(argv.end(), files.begin(), files.end());
        argv.push_back(host_ + ":" + dir_ + "/");
        checked(run_process(argv, timeout(120)), "scp");
    }
    ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) override {
        std::string command = "cd " + shell_quote(dir_) + " && ./" + shell_quote(program);
        for (const auto &a : args) command += " " + shell_quote(a);
        ProcessResult r = ssh({command}, timeout_s);
        if (r.status == 255 && !r.timed_out) fail("--runner ", spec_, ": ssh failed: ", one_line(r.err));
        return r;
    }

private:
    static ProcessOptions timeout(double s) {
        ProcessOptions o;
        o.timeout_s = s;
        return o;
    }
    ProcessResult ssh(const std::vector<std::string> &remote, double timeout_s = 60) {
        std::vector<std::string> argv = command_of("SHUFFLEC_SSH", "ssh -o BatchMode=yes");
        if (!port_.empty()) argv.insert(argv.end(), {"-p", port_});
        argv.push_back(host_);
        argv.insert(argv.end(), remote.begin(), remote.end());
        return run_process(argv, timeout(timeout_s));
    }
    std::string checked(const ProcessResult &r, const char *what) {
        if (r.status != 0)
            fail("--runner ", spec_, ": ", what, r.timed_out ? " timed out" : cat(" failed (exit ", r.status, ")"), ": ",
                 one_line(r.err.substr(0, 500)));
        return r.out;
    }
    std::string spec_, host_, port_, dir_, arch_;
};

// adb[:SERIAL]
class AdbRunner : public Runner {
public:
    explicit AdbRunner(const std::string &spec) : spec_(spec) {
        if (spec.size() > 4) serial_ = spec.substr(4);
        if (serial_.find_first_of(" '\"\\;$`") != std::string::npos)
            fail("--runner ", in_quotes(spec), ": expected adb or adb:SERIAL");
    }
    std::string name() const override { return spec_; }
    std::string arch() override {
        if (arch_.empty())
            arch_ = arch_of_machine(checked(adb({"shell", "uname -m && mkdir -p " + std::string(kDir)}), "adb shell"));
        return arch_;
    }
    void put(const std::vector<std::string> &files) override {
        arch();
        for (const auto &f : files) {
            checked(adb({"push", f, std::string(kDir) + "/" + basename_of(f)}, 300), "adb push");
            checked(adb({"shell", "chmod 755 " + std::string(kDir) + "/" + shell_quote(basename_of(f))}), "adb shell");
        }
    }
    ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) override {
        // adb shell does not return the program's exit status on old devices: echo it.
        std::string command = std::string("cd ") + kDir + " && ./" + shell_quote(program);
        for (const auto &a : args) command += " " + shell_quote(a);
        ProcessResult r = adb({"shell", command + "; echo shufflec-exit-status:$?"}, timeout_s);
        auto at = r.out.rfind("shufflec-exit-status:");
        if (at != std::string::npos) {
            r.status = std::atoi(r.out.c_str() + at + 21);
            r.out.erase(at);
        }
        return r;
    }

private:
    static constexpr const char *kDir = "/data/local/tmp/shufflec-runner";
    ProcessResult adb(const std::vector<std::string> &args, double timeout_s = 60) {
        std::vector<std::string> argv = command_of("SHUFFLEC_ADB", "adb");
        if (!serial_.empty()) argv.insert(argv.end(), {"-s", serial_});
        argv.insert(argv.end(), args.begin(), args.end());
        ProcessOptions o;
        o.timeout_s = timeout_s;
        return run_process(argv, o);
    }
    std::string checked(const ProcessResult &r, const char *what) {
        if (r.status != 0)
            fail("--runner ", spec_, ": ", what, r.timed_out ? " timed out" : cat(" failed (exit ", r.status, ")"), ": ",
                 one_line(r.err.substr(0, 500)));
        return r.out;
    }
    std::string spec_, serial_, arch_;
};

}  // namespace

std::string host_arch() {
#if defined(__aarch64__)
    return "arm-64";
#else
    return "x86-64";
#endif
}

std::unique_ptr<Runner> make_runner(const std::string &spec) {
    if (spec.empty() || spec == "local") return std::make_unique<LocalRunner>(false);
    if (spec == "qemu") return std::make_unique<LocalRunner>(true);
    if (spec.rfind("ssh://", 0) == 0) return std::make_unique<SshRunner>(spec);
    if (spec == "adb" || spec.rfind("adb:", 0) == 0) return std::make_unique<AdbRunner>(spec);
    fail("--runner: unknown runner ", in_quotes(spec), " (local, qemu, ssh://[user@]host[:port][/dir], adb[:SERIAL])");
}

}  // namespace shufflec
