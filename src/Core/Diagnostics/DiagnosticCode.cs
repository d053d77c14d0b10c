namespace ModelForge.Core.Diagnostics;

/// <summary>
/// Every failure a user can cause has one stable code here. Ranges: MF1xxx reading the model
/// (archive, pickle, TorchScript source, input specs), MF2xxx conversion (ops, opsets, shapes), MF3xxx validation,
/// MF4xxx packaging (TorchServe, Triton, KServe bundles MF4001–MF4039; batch tuning MF4050–; Triton serving settings MF4080–MF4089), MF5xxx command line and output files, MF6xxx engines (TensorRT through ONNX Runtime), MF7xxx specs and builds, MF8xxx precision (int8/fp16 rewrites and their calibration). Codes are never renumbered or reused.
/// </summary>
public enum DiagnosticCode
{
    // MF1xxx: frontend
    FileNotFound = 1001,
    NotAZipArchive = 1002,
    NotTorchScript = 1003,
    ArchiveCorrupt = 1004,
    UnsafeArchiveEntry = 1005,
    /// <summary>A PyTorch Mobile (lite interpreter) model: a flatbuffer, or a zip with bytecode.pkl but without the TorchScript code or data.</summary>
    MobileArchive = 1006,
    PickleForbiddenGlobal = 1010,
    PickleMalformed = 1011,
    TensorStorageInvalid = 1012,
    UnsupportedDtype = 1013,
    /// <summary>A size a file declares (a tensor storage, a compressed entry, a .npy shape, a generated input) exceeds the memory cap (<c>MODELFORGE_MEMORY_LIMIT_MB</c>, default 75% of available memory).</summary>
    MemoryLimitExceeded = 1014,
    /// <summary><c>MODELFORGE_MEMORY_LIMIT_MB</c> is set but is not a positive whole number of MiB.</summary>
    MemoryLimitInvalid = 1015,
    ScriptSyntaxError = 1020,
    ScriptClassMissing = 1021,
    InputSpecInvalid = 1030,
    InputSpecMismatch = 1031,
    /// <summary>A symbolic input dim has no value for generated validation inputs (give one with <c>--dim NAME=SIZE</c>).</summary>
    InputDimUnresolved = 1032,
    /// <summary>A .npy/.npz data file is malformed, truncated or uses an unsupported dtype or layout.</summary>
    DataFileInvalid = 1040,
    /// <summary>User-supplied input arrays do not match the declared inputs (names, dtypes, ranks or static dims).</summary>
    DataFileMismatch = 1041,

    // MF2xxx: conversion
    UnsupportedOps = 2001,
    OpsetTooLow = 2002,
    OpsetOutOfRange = 2003,
    UnsupportedConstruct = 2004,
    ShapeMismatch = 2005,
    StaticValueRequired = 2006,
    InvalidOpArguments = 2007,
    /// <summary>A variable is a tensor of one dtype after one branch of a run-time <c>if</c> and of another after the other (ONNX If needs one).</summary>
    BranchTypeMismatch = 2008,
    /// <summary>A supported op called in a variant its lowering does not cover (LSTM proj_size, an unbatched RNN input, …).</summary>
    UnsupportedOpVariant = 2040,
    /// <summary>An op, or a form of it, that no ONNX opset ModelForge targets (13–20) can express: a matrix norm that needs singular values, say.</summary>
    NoOnnxEquivalent = 2041,
    /// <summary>
    /// An in-place op on a view whose change the converted graph cannot write back into the tensor viewed (an expanded
    /// tensor, a diagonal, a reshape of a transposed tensor): refused rather than lost. Also such a view read after the
    /// tensor it views changed in place, which the graph cannot take again to show the change.
    /// </summary>
    InPlaceOnUnwritableView = 2042,
    /// <summary>
    /// Warning: a check in scripted code that raises when it fails (<c>if mask.size() != [b, 1, n, n]: raise</c>, an assert)
    /// is only known at run time; it is taken to pass, as tracing would, and the converted graph has no branch that raises.
    /// </summary>
    RunTimeCheckAssumed = 2045,
    /// <summary>
    /// Warning: the branches of a run-time empty-input guard (<c>if n > 0: x = x.reshape(n, -1, 4)</c>) give one variable
    /// tensors of different ranks; the empty case's tensor is taken to have no elements and given the other branch's
    /// rank, and the converted graph fails at run time if it has elements.
    /// </summary>
    BranchRankAssumedEmpty = 2046,
    /// <summary>An aten op on a complex tensor that ModelForge does not lower (it lowers stft, istft, view_as_real and the shape ops Interpreter.Complex.cs adapts).</summary>
    ComplexOpUnsupported = 2048,

    // MF3xxx: validation
    ReferenceFailed = 3001,
    CandidateFailed = 3002,
    CandidateUnavailable = 3003,
    /// <summary><c>modelforge build</c>: a converted artifact does not match the native model within the spec's tolerances.</summary>
    AccuracyGateFailed = 3004,
    /// <summary>The TorchScript archive calls an operator libtorch does not provide and ModelForge has no substitute for (a custom C++ extension's op): the native reference cannot load it, so the gate cannot run.</summary>
    ReferenceOperatorMissing = 3005,

    // MF4xxx: packaging
    /// <summary>A file a bundle needs (model, handler, extra file, requirements, engine file) does not exist.</summary>
    PackageFileMissing = 4001,
    /// <summary>A <c>BatchingConfig</c> breaks a server rule (negative max batch, preferred size outside 1..max, negative delay, no instance).</summary>
    BatchingConfigInvalid = 4002,
    /// <summary>A model, version or service name the target server would refuse or rename.</summary>
    BundleNameInvalid = 4003,
    /// <summary>A TorchServe archive rule: serialized file suffix, handler, duplicate entries, workers, timeouts.</summary>
    TorchServeArchiveInvalid = 4004,
    /// <summary>The declared inputs/outputs do not match the ONNX model the way Triton's onnxruntime backend checks them.</summary>
    TritonModelMismatch = 4005,
    /// <summary>A Triton model configuration rule: dims, data types, scalars, warmup, backend choice.</summary>
    TritonConfigInvalid = 4006,
    /// <summary>An execution accelerator the onnxruntime backend would refuse or ignore (name, device kind, parameter, value).</summary>
    TritonAcceleratorInvalid = 4007,
    /// <summary>An engine folder that cannot serve this model: not built, files missing, batch range too small.</summary>
    PackageEngineUnusable = 4008,
    /// <summary>A KServe InferenceService setting KServe would refuse (name, storage URI).</summary>
    KServeSpecInvalid = 4009,
    /// <summary>The ONNX model to package cannot be read as an ONNX ModelProto.</summary>
    PackageOnnxUnreadable = 4010,
    /// <summary>The ONNX model keeps weights in an external-data file that is not next to it (missing, or a location outside its folder).</summary>
    PackageExternalDataMissing = 4011,
    /// <summary>Warning: the TorchServe built-in handler resizes images to a size (224×224) other than the model's declared static input dims.</summary>
    TorchServeHandlerInputMismatch = 4012,
    /// <summary>The model's inputs/outputs (names, data types, dims, batching) differ from the existing <c>config.pbtxt</c> in the Triton repository, which every version shares; <c>--new-config</c> accepts the change.</summary>
    TritonConfigIncompatible = 4013,
    /// <summary>A Triton repository ModelForge cannot add a version to: a file in its place, a model folder without a config ModelForge wrote and can read, a version folder that appeared while writing.</summary>
    TritonRepositoryInvalid = 4014,

    // MF4080–MF4089: Triton serving settings from the spec (docs/serving.md, "More Triton settings")
    /// <summary><c>priority_levels</c> / <c>default_priority_level</c> / a <c>priority_queue_policy</c> level outside Triton's range, or priorities on a model without the dynamic batcher.</summary>
    TritonPriorityInvalid = 4080,
    /// <summary>A queue policy Triton refuses or would ignore: a negative timeout or queue size, DELAY without a timeout, a policy on a model without the dynamic batcher.</summary>
    TritonQueuePolicyInvalid = 4081,
    /// <summary>Rate-limiter resources Triton refuses or would ignore: an empty or repeated name, a count below 1, a negative priority.</summary>
    TritonRateLimiterInvalid = 4082,
    /// <summary>The warm-up sample .npz does not fit the model's inputs (a missing or extra array, another dtype or shape, no sample).</summary>
    TritonWarmupSampleInvalid = 4083,
    /// <summary>A model parameter the onnxruntime backend does not read, refuses, or ignores (an unknown name, a value that does not parse or is out of range, libtorch).</summary>
    TritonBackendParameterInvalid = 4084,
    /// <summary>Warning: the response cache is on for a model with random operators: a cached response repeats one draw.</summary>
    TritonResponseCacheNondeterministic = 4085,

    // MF4xxx: packaging
    /// <summary>Batch tuning options are unusable: an empty or unordered grid, a non-positive latency budget, bad window settings.</summary>
    TuningOptionsInvalid = 4050,
    /// <summary>Warning in a tuning report: no measured configuration meets the p99 budget; the lowest-p99 one was chosen.</summary>
    TuningLatencyBudgetUnmet = 4051,
    /// <summary>The tuner cannot make inputs for the model: a symbolic dim other than the batch without a size, or an input type it cannot generate.</summary>
    TuningInputUnresolved = 4052,
    /// <summary>Warning in a tuning report: a configuration's windows did not stabilise within the window cap; its last windows were used.</summary>
    TuningMeasurementUnstable = 4053,
    /// <summary>Warning in a tuning report: the requested execution provider cannot run here; the CPU provider was measured instead.</summary>
    TuningProviderUnavailable = 4054,
    /// <summary>ONNX Runtime failed to run the model at a configuration (a warning in the report), or at every configuration (an error).</summary>
    TuningRunFailed = 4055,
    /// <summary>Warning in a tuning report: the model has no symbolic batch dim, so only the instance count was tuned (max batch size 0).</summary>
    TuningNoBatchDim = 4056,
    /// <summary>The recorded tuning decision (NAME.tuning.lock.json) no longer matches the model, its inputs, the tuning settings or the machine: a warning when the build measures again, an error with --locked.</summary>
    TuningLockStale = 4057,
    /// <summary>The tuning lock file is not a ModelForge tuning lock, or cannot be read: nothing is measured and the file is left alone.</summary>
    TuningLockUnreadable = 4058,
    /// <summary>No batching configuration meets the traffic profile's p99 budget at its rate in the batcher simulation: the message says by how much, the hint what would.</summary>
    TrafficProfileUnmeetable = 4060,
    /// <summary>A traffic profile the simulator cannot use: a rate that is not positive, a burst size on non-bursty arrivals, no p99 budget.</summary>
    TrafficProfileInvalid = 4061,

    // MF407x: pre- and post-processing (Triton ensembles, fused models, generated TorchServe handlers)
    /// <summary>The preprocessing spec cannot produce the model's input: not one float [N, C, H, W] input with fixed C, H, W, a channel count that differs from the model's (mean/std, BGR order), a size that differs from the model's with resizing off.</summary>
    PreprocessShapeMismatch = 4070,
    /// <summary>The label file's line count differs from the number of classes the model's output has.</summary>
    LabelFileMismatch = 4071,
    /// <summary>The postprocessing spec does not fit the model's output: not one float [N, classes] output, or top-k outside 1..classes.</summary>
    PostprocessInvalid = 4072,
    /// <summary>An ensemble ModelForge assembled breaks one of Triton's ensemble rules (a step input not mapped, a tensor produced twice, an unused tensor, types or shapes that differ, a step's max_batch_size below the ensemble's).</summary>
    TritonEnsembleInvalid = 4073,

    // MF5xxx: command line and outputs
    OutputNotWritable = 5001,
    /// <summary>The build output folder would replace a folder holding the spec or the source model (it is replaced as a whole).</summary>
    OutputFolderUnsafe = 5002,
    /// <summary>The ModelForge.Build MSBuild package is misconfigured (an unknown ModelForgeAccuracyFailures value, the CLI missing from the package).</summary>
    MSBuildSetupInvalid = 5003,
    /// <summary>An output folder or file holds something ModelForge did not write, and the run would replace it (no <c>--force</c>).</summary>
    OutputNotOwned = 5004,
    /// <summary>The command line does not parse: an unknown option or argument, a missing required one, a value of the wrong kind.</summary>
    CommandLineInvalid = 5005,

    // MF6xxx: engines
    /// <summary><c>--require tensorrt|cuda</c> names an execution provider whose probe says it cannot run here.</summary>
    EngineProviderUnavailable = 6001,
    /// <summary>A dynamic dim has no range (<c>--dim</c>, the spec's <c>dims</c>), or a legacy <c>--profile</c> is malformed or does not fit the declared input.</summary>
    EngineProfileInvalid = 6002,
    /// <summary>An engine target option is out of range (precision, max batch, workspace, builder level, --require).</summary>
    EngineTargetInvalid = 6003,
    /// <summary>TensorRT is available but building or warming up the engine failed (unsupported node, out of memory, …).</summary>
    EngineBuildFailed = 6004,

    // MF7xxx: model specs and builds
    /// <summary>A <c>*.modelforge.json</c> is not valid JSON, breaks schemas/modelforge.schema.json, or is inconsistent (dims, ranges, names).</summary>
    SpecInvalid = 7001,

    // MF8xxx: precision. MF8001–MF8019: static int8 and the optimize command
    /// <summary>Calibration arrays do not fit the model's inputs: a missing or extra name, another dtype, rank or static dim.</summary>
    CalibrationDataMismatch = 8001,
    /// <summary>The calibration set holds no sample: an array with a zero-sized dim, or <c>--calibration-samples 0</c>.</summary>
    CalibrationDataEmpty = 8002,
    /// <summary>Every float calibration input holds one value only (all zeros, …): no activation range can be measured from it.</summary>
    CalibrationDataConstant = 8003,
    /// <summary>A calibration array holds NaN or ±Inf.</summary>
    CalibrationDataNotFinite = 8004,
    /// <summary>The model has no op static int8 quantizes (Conv, Gemm, MatMul with a constant weight, Add, Mul, Concat, pooling, Sigmoid, LeakyRelu).</summary>
    NothingToQuantize = 8005,
    /// <summary>The ONNX model to optimize cannot be read (not a file, not ONNX, external data missing).</summary>
    OptimizeModelUnreadable = 8006,
    /// <summary>The model's ONNX opset is below 13, where QuantizeLinear/DequantizeLinear have no per-channel axis.</summary>
    QuantizationOpsetTooOld = 8007,
    /// <summary>An optimize option is out of range or does not fit the precision (calibration options without int8, both a file and a sample count).</summary>
    OptimizeOptionInvalid = 8008,
    /// <summary>Warning: no calibration data was given, so int8 ranges come from generated inputs (real data gives better ranges).</summary>
    CalibrationDataGenerated = 8009,
    // MF8020–MF8039: fp16, dynamic int8, quantization accuracy
    /// <summary>Calibration inputs run through the fp32 model give an activation beyond float16's range (±65504) in a node that would run in fp16.</summary>
    Fp16ActivationOverflow = 8020,
    /// <summary>A float32 weight lies beyond float16's range (±65504) and would become infinity in fp16.</summary>
    Fp16InitializerOutOfRange = 8021,
    /// <summary>An fp16 block-list entry names no ONNX operator and no op type of the model.</summary>
    Fp16BlockListInvalid = 8022,
    /// <summary>A precision rewrite met a node with a subgraph (If, Loop, Scan), which it does not rewrite.</summary>
    PrecisionSubgraphUnsupported = 8023,
    /// <summary>Dynamic int8: the model has no MatMul, Gemm or LSTM with constant float32 weights to quantize (or is below opset 11).</summary>
    DynamicInt8NothingToQuantize = 8024,
    /// <summary>A precision rewrite was given a model whose weights are still in external data files (load them first).</summary>
    PrecisionExternalDataNotLoaded = 8025,
    /// <summary>A quantization accuracy threshold is out of its range (cosine in [-1, 1], agreement in [0, 1], SQNR finite).</summary>
    QuantizationThresholdInvalid = 8026,

    // MF8040–MF8044: the int8 sensitivity pass and nodes kept float
    /// <summary>The sensitivity pass hit its budget (nodes kept float or time) before the int8 model passed its accuracy thresholds.</summary>
    SensitivityBudgetExhausted = 8040,
    /// <summary>A node to keep float in static int8 is not a node of the model.</summary>
    FloatNodeUnknown = 8041,
    /// <summary>The sensitivity pass's evaluation inputs, reference outputs or budget do not fit (counts, names, shapes, a budget below zero).</summary>
    SensitivityDataInvalid = 8042,

    // MF8060–MF8069: precision in a build (onnx.precision)
    /// <summary>The spec asks for a precision that its execution provider cannot run (int8-dynamic with tensorrt.allOnTensorRt).</summary>
    PrecisionUnsupportedByProvider = 8060,
}

public static class DiagnosticCodeExtensions
{
    /// <summary>The code as users see and search for it: <c>MF1010</c>.</summary>
    public static string AsString(this DiagnosticCode code) => $"MF{(int)code:D4}";
}
