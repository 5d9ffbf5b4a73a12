// The small ShuffleNet V1 (0.5x g3, 40x48 input, stages of 2/3/1 units) that
// the schedule and tuner tests prepare: stage3.1 and stage3.2 share a
// workload, groups of 10 and 20 channels are not whole vectors.
#pragma once

#include <string>

#include "emit/compile_model.h"
#include "unit_support.h"
#include "util/file_io.h"

namespace unit {

inline shufflec::PreparedModel prepare_tiny(const std::string &target, const TempDir &dir) {
    std::string spec = dir.file("tiny.json");
    shufflec::write_file_atomic(spec, R"({"format": "shufflec-spec/1", "name": "tiny", "input": {"shape": [1, 3, 40, 48]},
        "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.5, "stage_repeats": [2, 3, 1], "num_classes": 10}})");
    shufflec::CompileOptions o;
    o.spec_path = spec;
    o.random_seed = "1";
    o.target = target;
    o.ignore_model_schedule = true;
    return shufflec::prepare_model(o);
}

}  // namespace unit
