#include "measure/runner.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file_io.h"
#include "util/temp_folder.h"

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

// Without the line breaks and spaces around it (tools end their messages with "\r\n").
std::string trimmed(const std::string &s) {
    size_t first = s.find_first_not_of(" \t\r\n"), last = s.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

bool name_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '-';
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
    explicit LocalRunner(bool qemu) : qemu_(qemu), folder_("shufflec-runner-") {}
    std::string name() const override { return qemu_ ? "qemu" : "local"; }
    std::string arch() override { return qemu_ ? "arm-64" : host_arch(); }
    bool wants_static() const override { return qemu_; }
    void put(const std::vector<std::string> &files) override {
        for (const auto &f : files) {
            std::string to = join_path(folder_.path(), basename_of(f));
            write_file_atomic(to, read_file(f, "file", kMaxDataFileBytes));
            chmod(to.c_str(), 0755);
        }
    }
    ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) override {
        std::vector<std::string> argv;
        if (qemu_) argv = {"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"};
        if (qemu_ && !plugin_.empty()) argv.insert(argv.end(), {"-plugin", plugin_});
        argv.push_back("./" + program);
        argv.insert(argv.end(), args.begin(), args.end());
        ProcessOptions o;
        o.cwd = folder_.path();
        o.timeout_s = timeout_s;
        return run_process(argv, o);
    }

    void set_qemu_plugin(const std::string &plugin) override {
        if (!qemu_) Runner::set_qemu_plugin(plugin);
        plugin_ = plugin;
    }

private:
    bool qemu_;
    TempFolder folder_;
    std::string plugin_;
};

class SshRunner : public Runner {
public:
    explicit SshRunner(const std::string &spec) : spec_(spec) {
        SshAddress at = parse_ssh_runner(spec);
        dir_ = at.dir.rfind("~/", 0) == 0 ? at.dir.substr(2) : at.dir;  // ssh and scp start in the home folder
        if (dir_.empty()) dir_ = ".";
        host_ = at.user.empty() ? at.host : at.user + "@" + at.host;
        port_ = at.port > 0 ? std::to_string(at.port) : "";
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
        argv.push_back("--");
        argv.insert(argv.end(), files.begin(), files.end());
        argv.push_back(host_ + ":" + dir_ + "/");
        ProcessResult r = run_process(argv, timeout(120));
        // OpenSSH 9 copies over SFTP: a board whose sshd has no sftp subsystem closes the connection.
        if (r.status != 0 && r.err.find("Connection closed") != std::string::npos)
            r.err = trimmed(r.err) + " (if the board's sshd has no SFTP subsystem: SHUFFLEC_SCP=\"scp -O\" uses the old protocol)";
        checked(r, "scp");
    }
    ProcessResult run(const std::string &program, const std::vector<std::string> &args, double timeout_s) override {
        std::string command = "cd " + shell_quote(dir_) + " && ./" + shell_quote(program);
        for (const auto &a : args) command += " " + shell_quote(a);
        ProcessResult r = ssh({command}, timeout_s);
        if (r.status == 255 && !r.timed_out) fail("--runner ", spec_, ": ssh failed: ", one_line(trimmed(r.err)));
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
        argv.insert(argv.end(), {"--", host_});
        argv.insert(argv.end(), remote.begin(), remote.end());
        return run_process(argv, timeout(timeout_s));
    }
    std::string checked(const ProcessResult &r, const char *what) {
        if (r.status != 0)
            fail("--runner ", spec_, ": ", what, r.timed_out ? " timed out" : cat(" failed (exit ", r.status, ")"), ": ",
                 one_line(trimmed(r.err.substr(0, 500))));
        return r.out;
    }
    std::string spec_, host_, port_, dir_, arch_;
};

// adb[:SERIAL]
class AdbRunner : public Runner {
public:
    explicit AdbRunner(const std::string &spec) : spec_(spec) {
        if (spec.size() > 4) serial_ = spec.substr(4);
        bool ok = spec.size() != 4 && (serial_.empty() || serial_[0] != '-');
        for (char ch : serial_) ok = ok && (name_char(ch) || ch == ':');
        if (!ok) fail("--runner ", in_quotes(spec), ": expected adb or adb:SERIAL (letters, digits, . _ - :)");
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
                 one_line(trimmed(r.err.substr(0, 500))));
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

SshAddress parse_ssh_runner(const std::string &spec) {
    auto bad = [&](const std::string &why) -> SshAddress {
        fail("--runner ", in_quotes(spec), ": ", why, " (expected ssh://[user@]host[:port][/dir])");
    };
    if (spec.rfind("ssh://", 0) != 0) bad("not an ssh runner");
    for (unsigned char ch : spec)
        if (ch < 0x20 || ch == 0x7f) bad("control characters are not allowed");
    SshAddress a;
    std::string rest = spec.substr(6);
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
        a.dir = rest.substr(slash);  // absolute, like git's ssh:// URLs; /~/ is the home folder
        if (a.dir.rfind("/~/", 0) == 0 || a.dir == "/~") a.dir = "~/" + a.dir.substr(std::min<size_t>(3, a.dir.size()));
        if (a.dir == "/") bad("the folder may not be /");
        rest = rest.substr(0, slash);
    } else {
        a.dir = "~/.shufflec-runner";
    }
    size_t at = rest.rfind('@');
    if (at != std::string::npos) {
        a.user = rest.substr(0, at);
        rest = rest.substr(at + 1);
        bool ok = !a.user.empty() && a.user[0] != '-';
        for (char ch : a.user) ok = ok && name_char(ch);
        if (!ok) bad("the user must be letters, digits, . _ - (not starting with -)");
    }
    std::string port;
    bool has_port = false;
    if (!rest.empty() && rest[0] == '[') {  // [IPv6]
        size_t close = rest.find(']');
        if (close == std::string::npos) bad("no ] after the IPv6 address");
        a.host = rest.substr(1, close - 1);
        bool ok = !a.host.empty();
        for (char ch : a.host) ok = ok && (std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.');
        if (!ok) bad("not an IPv6 address in [ ]");
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest[0] != ':') bad("expected :port after ]");
        if (!rest.empty()) port = rest.substr(1), has_port = true;
    } else {
        size_t colon = rest.find(':');
        if (colon != std::string::npos) port = rest.substr(colon + 1), rest = rest.substr(0, colon), has_port = true;
        a.host = rest;
        bool ok = !a.host.empty() && a.host[0] != '-';
        for (char ch : a.host) ok = ok && name_char(ch);
        if (!ok) bad("the host must be a name or address: letters, digits, . _ - (not starting with -)");
    }
    if (has_port) {
        bool ok = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
        if (!ok || std::stoi(port) < 1 || std::stoi(port) > 65535) bad("the port must be a number from 1 to 65535");
        a.port = std::stoi(port);
    }
    return a;
}

std::vector<std::string> split_runners(const std::vector<std::string> &values) {
    std::vector<std::string> runners;
    for (const auto &v : values) {
        size_t pos = 0;
        for (;;) {
            size_t comma = v.find(',', pos);
            std::string r = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            if (r.empty()) fail("--runner ", in_quotes(v), ": an empty runner (a stray comma?)");
            check_runner_spec(r);
            runners.push_back(r);
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
    }
    return runners;
}

void check_runner_spec(const std::string &spec) {
    if (spec == "local" || spec == "qemu") return;
    if (spec.rfind("ssh://", 0) == 0) {
        parse_ssh_runner(spec);
        return;
    }
    if (spec == "adb" || spec.rfind("adb:", 0) == 0) {
        AdbRunner adb(spec);  // parses; runs nothing
        return;
    }
    fail("--runner: unknown runner ", in_quotes(spec), " (local, qemu, ssh://[user@]host[:port][/dir], adb[:SERIAL])");
}

std::unique_ptr<Runner> make_runner(const std::string &spec) {
    if (spec == "local") return std::make_unique<LocalRunner>(false);
    if (spec == "qemu") return std::make_unique<LocalRunner>(true);
    if (spec.rfind("ssh://", 0) == 0) return std::make_unique<SshRunner>(spec);
    if (spec == "adb" || spec.rfind("adb:", 0) == 0) return std::make_unique<AdbRunner>(spec);
    fail("--runner: unknown runner ", in_quotes(spec), " (local, qemu, ssh://[user@]host[:port][/dir], adb[:SERIAL])");
}

void Runner::set_qemu_plugin(const std::string &) {
    fail("--runner ", name(), ": instruction counts need --runner qemu (qemu-aarch64 on this machine)");
}

std::string machine_name(const Runner &runner) {
    if (runner.name() != "local") return runner.name();
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
            size_t colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown";
}

}  // namespace shufflec
