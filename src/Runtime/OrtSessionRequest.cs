using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Runtime;

/// <summary>
/// Everything one ONNX Runtime session is opened with. <see cref="OrtHost"/> turns it into <c>SessionOptions</c> the
/// same way for every stage: session entries first, then the provider (ORT copies some entries at append time,
/// trt.md §1.5), then the session.
/// </summary>
/// <param name="ModelPath">The model file; with <see cref="ModelBytes"/> set, only the name used in messages.</param>
/// <param name="Rejected">How the calling stage reports a model ONNX Runtime refuses (its diagnostic code and wording).</param>
public sealed record OrtSessionRequest(string ModelPath, OrtFailure Rejected)
{
    /// <summary>The session entry that makes a node the provider cannot run fail the session instead of falling back to the CPU.</summary>
    public const string DisableCpuFallback = "session.disable_cpu_ep_fallback";

    /// <summary>The first GPU, as every stage but the engine builder asks for it.</summary>
    public static IReadOnlyDictionary<string, string> FirstDevice { get; } = new Dictionary<string, string> { ["device_id"] = "0" };

    /// <summary>The model's bytes, when it is not read from <see cref="ModelPath"/> (the provider probe's model).</summary>
    public byte[]? ModelBytes { get; init; }

    public OrtProvider Provider { get; init; } = OrtProvider.Cpu;

    /// <summary>The provider's options, all passed in one <c>UpdateOptions</c> call (trt.md §1.1); ignored for the CPU provider.</summary>
    public IReadOnlyDictionary<string, string> ProviderOptions { get; init; } = FirstDevice;

    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>The session's log level; failures reach the caller as exceptions, so by default only fatal errors are logged.</summary>
    public OrtLoggingLevel LogLevel { get; init; } = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;

    /// <summary>Intra-op threads (null: ORT's default, one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Inter-op threads (null: ORT's default).</summary>
    public int? InterOpThreads { get; init; }

    /// <summary>Sequential or parallel node execution (null: ORT's default, sequential).</summary>
    public ExecutionMode? ExecutionMode { get; init; }

    /// <summary>Session configuration entries (<c>AddSessionConfigEntry</c>), e.g. <see cref="DisableCpuFallback"/>.</summary>
    public IReadOnlyDictionary<string, string> SessionEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>Where ORT writes the model after graph optimisation (null: not written).</summary>
    public string? OptimizedModelPath { get; init; }

    /// <summary>
    /// The settings that decide what the session computes, as a report records them: the optimisation level, the
    /// provider's options (GPU providers only) and the session entries.
    /// </summary>
    public SortedDictionary<string, string> Describe()
    {
        var described = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["graph_optimization_level"] = Optimization.ToString() };
        if (Provider != OrtProvider.Cpu)
            foreach (var (key, value) in ProviderOptions) described[key] = value;
        foreach (var (key, value) in SessionEntries) described[key] = value;
        return described;
    }

    internal SessionOptions ToSessionOptions()
    {
        var options = new SessionOptions { GraphOptimizationLevel = Optimization, LogSeverityLevel = LogLevel };
        if (IntraOpThreads is { } intra) options.IntraOpNumThreads = intra;
        if (InterOpThreads is { } inter) options.InterOpNumThreads = inter;
        if (ExecutionMode is { } mode) options.ExecutionMode = mode;
        if (OptimizedModelPath is { } optimized) options.OptimizedModelFilePath = optimized;
        foreach (var (key, value) in SessionEntries) options.AddSessionConfigEntry(key, value);
        return options;
    }
}

/// <summary>
/// How a stage words an ONNX Runtime failure: its diagnostic code, what failed ("ONNX Runtime cannot load 'x.onnx'"),
/// where, and what to do. The message is <c>What: ORT's first line</c> (<see cref="OrtErrors.ToDiagnostic"/>).
/// </summary>
public sealed record OrtFailure(DiagnosticCode Code, string What, SourceLocation? Location = null, string? Hint = null)
{
    /// <summary>A model file ONNX Runtime cannot load, reported with the stage's code and the file named.</summary>
    public static OrtFailure CannotLoad(DiagnosticCode code, string onnxPath, string? provider = null) =>
        new(code, provider is null ? $"ONNX Runtime cannot load '{onnxPath}'" : $"ONNX Runtime cannot load '{onnxPath}' with {provider}",
            new SourceLocation(onnxPath), "check that the file is the ONNX model ModelForge wrote (an interrupted or edited file fails to load)");

    /// <summary>The diagnostic for this failure with <paramref name="detail"/> (ORT's own words, or a probe's reason).</summary>
    public ModelForgeException With(string detail, Exception? inner = null) =>
        new(new Diagnostic(Code, $"{What}: {detail}", Location, Hint), inner);
}
