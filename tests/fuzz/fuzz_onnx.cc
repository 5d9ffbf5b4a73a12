// ONNX import: protobuf parsing, the graph walk, and the spec it writes (which
// the importer parses back, so a bad translation is a finding too).
#include "fuzz_support.h"
#include "import/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return shufflec_fuzz::guarded([&] {
        shufflec::ImportedModel m = shufflec::import_onnx_bytes(shufflec_fuzz::bytes(data, size), "fuzz.onnx", {"fuzz", ""});
        if (m.spec.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict).empty()) std::abort();
    });
}
