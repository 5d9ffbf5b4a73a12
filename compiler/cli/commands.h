// The shufflec sub-commands. Each returns the process exit code and reports
// errors by throwing shufflec::Error (printed once by main).
#pragma once

#include <string>
#include <vector>

namespace shufflec {

int command_info(const std::vector<std::string> &argv);
int command_run(const std::vector<std::string> &argv);
int command_compile(const std::vector<std::string> &argv);
int command_import_onnx(const std::vector<std::string> &argv);
int command_export_onnx(const std::vector<std::string> &argv);
int command_bench(const std::vector<std::string> &argv);
int command_profile(const std::vector<std::string> &argv);
int command_tune(const std::vector<std::string> &argv);
int command_quantize(const std::vector<std::string> &argv);
int command_model_cycles(const std::vector<std::string> &argv);

}  // namespace shufflec
