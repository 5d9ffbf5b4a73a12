// Schedule files (schedules/<target>/*.json, --schedule, tuner output).
#include "fuzz_support.h"
#include "schedule/schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return shufflec_fuzz::guarded([&] { shufflec::parse_schedule_text(shufflec_fuzz::bytes(data, size), "fuzz.json"); });
}
