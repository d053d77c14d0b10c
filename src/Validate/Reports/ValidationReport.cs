using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>An ONNX Runtime configuration that was checked against the reference.</summary>
public sealed record CandidateInfo(
    /// <summary>Short stable name: "onnxruntime-cpu", "onnxruntime-cuda", "onnxruntime-tensorrt".</summary>
    string Name,
    /// <summary>The ORT execution provider, e.g. "CPUExecutionProvider".</summary>
    string ExecutionProvider,
    /// <summary>Provider and session options that matter for accuracy, sorted by key.</summary>
    IReadOnlyDictionary<string, string> Options);

public enum CandidateStatus
{
    /// <summary>Every output within tolerance.</summary>
    Passed,
    /// <summary>At least one output outside tolerance (or of the wrong shape/type, or a missing output).</summary>
    Failed,
    /// <summary>Asked for but cannot run here (e.g. no CUDA); never silently replaced by another candidate.</summary>
    Unavailable,
}

/// <summary>One candidate at one batch size.</summary>
public sealed record CandidateRun(
    CandidateInfo Candidate,
    int BatchSize,
    CandidateStatus Status,
    /// <summary>For Unavailable: the probe's reason; for Failed: the first failing output's reason.</summary>
    string? Reason,
    IReadOnlyList<OutputComparison> Outputs,
    TimeSpan InferenceTime);

/// <summary>A declared input as validated: name, type, the concrete shape per batch size, how values were made.</summary>
public sealed record InputDescription(string Name, string ElementType, string Dims, string Source);

/// <summary>
/// A section a caller adds to the HTML report (the build's precision comparison): a heading and a body of markup that
/// ModelForge made (escaped where it holds user text), placed after the verdict.
/// </summary>
public sealed record ReportSection(string Title, string Html);

/// <summary>Everything a validation run found, from which every report format is rendered.</summary>
public sealed record ValidationReport(
    string ModelPath,
    string OnnxPath,
    IReadOnlyList<InputDescription> Inputs,
    IReadOnlyList<int> BatchSizes,
    int Seed,
    /// <summary>The reference: "libtorch 2.10.0 (TorchSharp 0.107.0), fp32, 1 thread".</summary>
    string Reference,
    TimeSpan ReferenceTime,
    IReadOnlyList<CandidateRun> Runs,
    /// <summary>UTC time the run finished (reports print it; golden tests pin it).</summary>
    DateTimeOffset FinishedAt,
    string ToolVersion)
{
    /// <summary>
    /// Optional candidates that were not run because their provider cannot run here (CUDA, TensorRT), with the probe's
    /// reason. They do not count against the gate, but every report names them, so a reader sees what was not checked.
    /// </summary>
    public IReadOnlyList<SkippedCandidate> Skipped { get; init; } = [];

    /// <summary>Sections the HTML report shows after its verdict (none by default).</summary>
    public IReadOnlyList<ReportSection> Sections { get; init; } = [];

    /// <summary>The gate: every requested candidate ran and passed. An unavailable candidate fails the gate too.</summary>
    public bool Passed => Runs.Count > 0 && Runs.All(r => r.Status == CandidateStatus.Passed);

    /// <summary>
    /// The report as it reads once the folder <paramref name="from"/> has been moved to <paramref name="to"/>: every path
    /// and message that names a file under <paramref name="from"/> names the same file under <paramref name="to"/>.
    /// A build validates in a staging folder that is renamed when it is published; its reports name the published files.
    /// </summary>
    public ValidationReport Relocated(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentException.ThrowIfNullOrEmpty(to);
        from = Path.TrimEndingDirectorySeparator(Path.GetFullPath(from));
        to = Path.TrimEndingDirectorySeparator(Path.GetFullPath(to));
        string Map(string text) => MapPath(text, from, to);
        string? MapNullable(string? text) => text is null ? null : Map(text);
        return this with
        {
            ModelPath = Map(ModelPath),
            OnnxPath = Map(OnnxPath),
            Inputs = Inputs.Select(i => i with { Source = Map(i.Source) }).ToList(),
            Runs = Runs.Select(r => r with
            {
                Candidate = r.Candidate with { Options = r.Candidate.Options.ToDictionary(o => o.Key, o => Map(o.Value), StringComparer.Ordinal) },
                Reason = MapNullable(r.Reason),
            }).ToList(),
            Skipped = Skipped.Select(s => s with { Reason = Map(s.Reason) }).ToList(),
        };
    }

    /// <summary>
    /// Replaces <paramref name="from"/> where it stands for the folder itself or a path in it (followed by a separator,
    /// a quote or the end), not where it is only the start of a longer name.
    /// </summary>
    private static string MapPath(string text, string from, string to)
    {
        var result = new System.Text.StringBuilder(text.Length);
        var start = 0;
        for (var at = text.IndexOf(from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(from, start, StringComparison.Ordinal))
        {
            var end = at + from.Length;
            var whole = end == text.Length || text[end] == Path.DirectorySeparatorChar || text[end] == Path.AltDirectorySeparatorChar
                        || !(char.IsLetterOrDigit(text[end]) || text[end] is '.' or '-' or '_');
            result.Append(text, start, at - start).Append(whole ? to : from);
            start = end;
        }
        return result.Append(text, start, text.Length - start).ToString();
    }
}
