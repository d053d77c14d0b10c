namespace ModelForge.Core.Diagnostics;

/// <summary>
/// Every failure a user can cause has one stable code here. Ranges: MF1xxx reading the model
/// (archive, pickle, TorchScript source, input specs), MF2xxx conversion (ops, opsets, shapes), MF3xxx validation,
/// MF5xxx command line and output files, MF6xxx engines (TensorRT through ONNX Runtime). Codes are never renumbered or reused.
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
    /// <summary>A supported op called in a variant its lowering does not cover (LSTM proj_size, an unbatched RNN input, …).</summary>
    UnsupportedOpVariant = 2040,

    // MF3xxx: validation
    ReferenceFailed = 3001,
    CandidateFailed = 3002,
    CandidateUnavailable = 3003,

    // MF5xxx: command line and outputs
    OutputNotWritable = 5001,

    // MF6xxx: engines
    /// <summary><c>--require tensorrt|cuda</c> names an execution provider whose probe says it cannot run here.</summary>
    EngineProviderUnavailable = 6001,
    /// <summary>A <c>--profile</c> is malformed, names an unknown input, or does not fit the declared input.</summary>
    EngineProfileInvalid = 6002,
    /// <summary>An engine target option is out of range (precision, max batch, workspace, builder level, --require).</summary>
    EngineTargetInvalid = 6003,
    /// <summary>TensorRT is available but building or warming up the engine failed (unsupported node, out of memory, …).</summary>
    EngineBuildFailed = 6004,
}

public static class DiagnosticCodeExtensions
{
    /// <summary>The code as users see and search for it: <c>MF1010</c>.</summary>
    public static string AsString(this DiagnosticCode code) => $"MF{(int)code:D4}";
}
