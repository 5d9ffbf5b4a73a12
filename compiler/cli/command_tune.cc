// shufflec tune SPEC ...: search the schedule of every unit on this machine
// (or on boards reached through runners) and write the best as a schedule file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "emit/targets.h"
#include "measure/bench_program.h"
#include "measure/runner.h"
#include "spec/spec_parser.h"
#include "tune/tuner.h"
#include "util/error.h"
#include "util/progress.h"

namespace shufflec {

int command_tune(const std::vector<std::string> &argv) {
    Args args("tune",
              model_flags("host; arm-64-linux for an ARM runner") +
              std::vector<FlagSpec>{
               {"--threads", "N", "threads per run to tune for (default 1)"},
               {"--budget", "MINUTES", "time for the search (default 10)"},
               {"--trials", "N", "trials in all instead of a time budget (with --resume: the log's count too)"},
               {"--log", "FILE", "JSON-lines log, one record per trial (default tune-<spec>-<target>-t<threads>.jsonl)"},
               {"--resume", "", "continue the log: its trials count and are not measured again"},
               {"-o", "FILE", "schedule file to write (default ~/.local/share/shufflec/schedules/<target>/<model name>.json, or under $XDG_DATA_HOME: compile reads it)"},
               {"--runner", "R[,R...]", "where to measure: local (default), qemu, ssh://[user@]host[:port][/dir], "
                                        "adb[:SERIAL]; several identical boards measure in parallel (R1,R2 or the flag repeated)",
                true},
               {"--cost", "C", "what a trial costs: time (measured; the default), or under --runner qemu the "
                               "cycles of a core modeled by llvm-mca from exact instruction counts: neoverse-n1 "
                               "(the default there), cortex-a55"},
               {"--search", "KIND", "evolve (default: mutates the best configs measured) or random (the baseline)"},
               {"--seed", "N", "seed of the search (default 1)"},
               {"--no-confirm", "", "skip the whole-model A/B against the default (the file is then unconfirmed)"},
               {"--padding-rounds", "N", "alternating rounds per group padding tried on the whole model after the "
                                         "search (default 11; 0 keeps the target's)"},
               {"--compile-timeout", "S", "seconds a candidate may take to compile (default 120)"},
               {"--run-timeout", "S", "seconds a candidate's measurement may take (default 60)"},
               {"--print-space", "", "print the search space of every unit and stop"},
               {"--report", "LOG", "summarize a tuning log (table per unit) instead of tuning; SPEC not needed"},
               {"--plot", "FILE.svg", "with --report: best model latency over trials, one line per session"},
               {"--quiet", "", "no progress line"}},
              {"SPEC"});
    // --report takes no SPEC: parse with a placeholder.
    std::vector<std::string> given = argv;
    bool report = false;
    for (const auto &a : argv) report = report || a == "--report";
    bool has_positional = false;
    for (size_t i = 0; i < argv.size(); i++) {
        if (argv[i].rfind("-", 0) == 0) {
            if (argv[i] != "--resume" && argv[i] != "--no-confirm" && argv[i] != "--print-space" && argv[i] != "--quiet" &&
                argv[i] != "--help" && argv[i] != "-h")
                i++;
            continue;
        }
        has_positional = true;
    }
    if (report && !has_positional) given.push_back("-");
    if (!args.parse(given)) {
        std::printf("%s\nSearches the schedule of every unit of SPEC on the machine it will run on and writes the best\n"
                    "as a schedule file that `shufflec compile` reads. Each trial compiles one unit with a candidate\n"
                    "schedule in a child process, runs it against the best so far (alternating, medians) with a time\n"
                    "limit, checks its outputs against the default schedule's and appends a record to the log. The\n"
                    "result is confirmed on the whole model (alternating A/B) and never slower than the default.\n"
                    "Under qemu (no ARM board) the cost is modeled: exact counts of one call, cycles by llvm-mca.\n"
                    "See docs/schedules.md.\n",
                    args.usage().c_str());
        return 0;
    }
    if (report) {
        std::fputs(tune_report(args.get("--report"), args.get("--plot")).c_str(), stdout);
        return 0;
    }
    if (args.has("--plot")) fail("--plot: only with --report LOG");
    TuneOptions o;
    CompileOptions &c = o.compile;
    c.spec_path = args.positional()[0];
    if (args.has("--runner")) o.runners = split_runners(args.all("--runner"));
    bool arm_runner = false;
    for (const auto &r : o.runners) arm_runner = arm_runner || r == "qemu" || r.rfind("adb", 0) == 0;
    read_model_flags(args, c, arm_runner ? "arm-64-linux" : "host", true);  // timing does not depend on the values
    bool only_qemu = std::all_of(o.runners.begin(), o.runners.end(), [](const std::string &r) { return r == "qemu"; });
    o.cost = args.get("--cost", only_qemu ? "neoverse-n1" : "time");
    if (c.precision != "fp32" && c.precision != "int8")
        fail("tune: --precision ", c.precision, " is not tunable yet (fp32 and int8 only)");
    o.threads = args.get_int("--threads", 1, 64, 1);
    if (args.has("--print-space")) {
        std::fputs(print_space(c, o.threads).c_str(), stdout);
        return 0;
    }
    if (args.has("--trials") && args.has("--budget")) fail("--trials and --budget: give one of them");
    o.trials = args.get_int("--trials", 1, 1000000, 0);
    if (args.has("--budget")) {
        o.budget_minutes = args.get_number("--budget", 0.01, 7 * 24 * 60, 10);
    }
    o.log_path = args.get("--log");
    o.resume = args.has("--resume");
    o.out_path = args.get("-o");
    o.search = args.get("--search", "evolve");
    if (o.search != "evolve" && o.search != "random") fail("--search: expected evolve or random, got ", in_quotes(o.search));
    o.seed = static_cast<uint64_t>(args.get_int("--seed", 0, 1 << 30, 1));
    o.confirm = !args.has("--no-confirm");
    o.padding_rounds = args.get_int("--padding-rounds", 0, 1000, 11);
    o.compile_timeout_s = args.get_int("--compile-timeout", 1, 86400, 120);
    o.run_timeout_s = args.get_int("--run-timeout", 1, 86400, 60);
    if (const char *faults = std::getenv("SHUFFLEC_TUNE_FAULTS")) o.faults = faults;
    o.progress = progress_wanted(args.has("--quiet"));
    return run_tune(o);
}

}  // namespace shufflec
