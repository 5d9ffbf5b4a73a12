// shufflec compile SPEC ... -o DIR: native objects for an app to link.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "emit/compile_model.h"
#include "emit/targets.h"
#include "measure/bench_program.h"
#include "spec/spec_parser.h"
#include "tune/tuning_log.h"
#include "util/error.h"
#include "util/progress.h"

namespace shufflec {

int command_compile(const std::vector<std::string> &argv) {
    Args args("compile",
              model_flags("host") +
              std::vector<FlagSpec>{
               {"--name", "NAME", "C prefix of the generated API (default: the spec's name)"},
               {"-o", "DIR", "output folder (created if missing)"},
               {"--schedule", "FILE", "schedule file (default: schedules/<target>/<spec name>.json if present)"},
               {"--tuning-log", "FILE", "apply the best record per unit workload of a `shufflec tune` log "
                                        "(unknown workloads: the cost model)"},
               {"--tuning-threads", "N", "which thread count's records to apply (default: the log's last)"},
               {"--external-weights", "", "write NAME.weights for the app to load instead of embedding them"},
               {"--emit", "KIND", "lib (default: NAME.a), obj (NAME.o + shared runtime object) or so (NAME.so: for "
                                  "Python, runtime/python/shufflec.py)"},
               {"--profile", "", "time each pipeline (one per unit): NAME_profile_* in NAME.h (shufflec profile)"},
               {"--profile-halide", "", "build with Halide's sampling profiler: per-Func times printed at exit"},
               {"--jobs", "N", "parallel compile workers (default: number of cores)"},
               {"--autoschedule", "NAME", "schedule with Halide's Mullapudi2016, Li2018 or Adams2019 (a baseline)"},
               {"--pipelines", "KIND", "unit (default: one Halide pipeline per unit) or network (one for all)"},
               {"--print-schedule", "", "print the tiling chosen for every pipeline's root Funcs and stop"},
               {"--save-temps", "", "keep the intermediate files (C glue, per-pipeline objects, Halide statements)"},
               {"--quiet", "", "print nothing on success"}},
              {"SPEC"});
    if (!args.parse(argv)) {
        std::printf("%s\nCompiles SPEC to a static library (or objects) and a C header. See docs/api.md.\n",
                    args.usage().c_str());
        return 0;
    }
    CompileOptions o;
    o.spec_path = args.positional()[0];
    read_model_flags(args, o, "host", false);
    o.name = args.get("--name");
    o.out_dir = args.get("-o");
    if (o.out_dir.empty() && !args.has("--print-schedule")) fail("compile: missing -o DIR");
    o.schedule_path = args.get("--schedule");
    int tuning_threads = 0;  // the log's last thread count
    if (args.has("--tuning-threads")) {
        std::vector<int> t = parse_int_list(args.get("--tuning-threads"), "--tuning-threads", 1, 64);
        if (t.size() != 1) fail("--tuning-threads: expected one number");
        tuning_threads = t[0];
    }
    if (args.has("--tuning-log"))
        o.refine_schedule = [log = args.get("--tuning-log"), tuning_threads](PreparedModel &p) {
            apply_tuning_log(p, log, tuning_threads);
        };
    o.external_weights = args.has("--external-weights");
    std::string emit = args.get("--emit", "lib");
    if (emit != "lib" && emit != "obj" && emit != "so") fail("--emit: expected lib, obj or so, got ", in_quotes(emit));
    o.emit = emit == "obj" ? CompileOptions::Emit::Objects : emit == "so" ? CompileOptions::Emit::Shared
                                                                         : CompileOptions::Emit::Library;
    o.profile = args.has("--profile");
    o.profile_halide = args.has("--profile-halide");
    o.save_temps = args.has("--save-temps");
    o.autoscheduler = args.get("--autoschedule");
    std::string pipelines = args.get("--pipelines", "unit");
    if (pipelines != "unit" && pipelines != "network")
        fail("--pipelines: expected \"unit\" or \"network\", got \"", pipelines, "\"");
    o.one_pipeline = pipelines == "network";
    o.jobs = args.get_int("--jobs", 1, 256, 0);
    if (args.has("--print-schedule")) {
        // The tiling does not depend on the weights' values: none are needed.
        if (o.weights_path.empty() && o.random_seed.empty()) o.random_seed = "0";
        for (const auto &line : describe_schedule(o)) std::printf("%s\n", line.c_str());
        return 0;
    }
    o.progress = progress_wanted(args.has("--quiet"));
    CompileReport r = compile_model(o);
    if (!args.has("--quiet")) {
        std::string target = o.target == r.target_folder ? o.target : o.target + " (" + r.target_folder + ")";
        std::printf("compiled %s for %s in %.1f s: %d pipelines, weights %.2f MB, scratch %.2f MB, schedule %s\n",
                    o.spec_path.c_str(), target.c_str(), r.seconds, r.segments, r.weight_bytes / 1e6,
                    r.scratch_bytes / 1e6, r.schedule_source.c_str());
        for (const auto &f : r.files) std::printf("  %s\n", f.c_str());
        for (const auto &n : r.notes) std::printf("note: %s\n", n.c_str());
    }
    return 0;
}

}  // namespace shufflec
