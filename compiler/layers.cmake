# The compiler's libraries, lowest first, and the folders each is built from.
# A folder may include headers of its own library and of the libraries before
# it, never after: dependencies run one way (the ctest `layers` checks every
# #include against this list; compiler/CMakeLists.txt builds the libraries).
#   util     errors, files, processes, progress
#   model    the network: spec parsing, graph IR, ops (with their reference,
#            lowering and ONNX mapping), weights, passes, int8 quantization
#            (calibration, simulation), segments and lowering
#   import   ONNX models into specs, and specs out as ONNX (Debian's libonnx)
#   schedule knobs and schedule files onto lowered pipelines
#   emit     objects, glue and headers; targets and the toolchain
#   measure  runners and benchmark programs
#   tune     the search space, unit benchmarks, the tuner and its log
#   cli      the shufflec command (resolves a tuning log into a schedule)
set(SHUFFLEC_LAYERS util model import schedule emit measure tune cli)
set(SHUFFLEC_LAYER_util util)
set(SHUFFLEC_LAYER_model spec graph ops weights reference passes quantize lower)
set(SHUFFLEC_LAYER_import import)
set(SHUFFLEC_LAYER_schedule schedule)
set(SHUFFLEC_LAYER_emit emit)
set(SHUFFLEC_LAYER_measure measure)
set(SHUFFLEC_LAYER_tune tune)
set(SHUFFLEC_LAYER_cli cli)
