namespace ModelForge.Core.Diagnostics;

/// <summary>
/// Every failure a user can cause has one stable code here. Ranges: MF1xxx reading the model
/// (archive, pickle, TorchScript source, input specs), MF2xxx conversion (ops, opsets, shapes),
/// MF5xxx command line and output files. Codes are never renumbered or reused.
/// </summary>
public enum DiagnosticCode
{
    // MF1xxx: frontend
    FileNotFound = 1001,
    NotAZipArchive = 1002,
    NotTorchScript = 1003,
    ArchiveCorrupt = 1004,
    UnsafeArchiveEntry = 1005,
    PickleForbiddenGlobal = 1010,
    PickleMalformed = 1011,
    TensorStorageInvalid = 1012,
    UnsupportedDtype = 1013,
    ScriptSyntaxError = 1020,
    ScriptClassMissing = 1021,
    InputSpecInvalid = 1030,
    InputSpecMismatch = 1031,

    // MF2xxx: conversion
    UnsupportedOps = 2001,
    OpsetTooLow = 2002,
    OpsetOutOfRange = 2003,
    UnsupportedConstruct = 2004,
    ShapeMismatch = 2005,
    StaticValueRequired = 2006,
    InvalidOpArguments = 2007,

    // MF5xxx: command line and outputs
    OutputNotWritable = 5001,
}

public static class DiagnosticCodeExtensions
{
    /// <summary>The code as users see and search for it: <c>MF1010</c>.</summary>
    public static string AsString(this DiagnosticCode code) => $"MF{(int)code:D4}";
}
