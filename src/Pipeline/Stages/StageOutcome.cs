using System.Text.Json.Serialization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// What one stage of a build did: <see cref="Done"/>, <see cref="Skipped"/> or <see cref="Failed"/>, and nothing else.
/// The progress display and the manifest's <c>stages</c> are both written from it; <see cref="Text"/> is the one
/// place its one-line form is made. In <c>build-manifest.json</c> it is an object whose <c>status</c> says which:
/// <c>{ "status": "done", "summary": "…" }</c>, <c>{ "status": "skipped", "reason": "…" }</c>,
/// <c>{ "status": "failed", "severity": "warning", "summary": "…" }</c> (schemas/build-manifest.schema.json).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "status")]
[JsonDerivedType(typeof(Done), "done")]
[JsonDerivedType(typeof(Skipped), "skipped")]
[JsonDerivedType(typeof(Failed), "failed")]
public abstract record StageOutcome
{
    // Closed: the three outcomes below are all there are.
    private StageOutcome() { }

    /// <summary>The stage did its work; <paramref name="Summary"/> says what came of it (null: nothing worth a line).</summary>
    public sealed record Done(string? Summary = null) : StageOutcome;

    /// <summary>The stage could not run here and the build went on without it (no TensorRT on this machine).</summary>
    public sealed record Skipped(string Reason) : StageOutcome;

    /// <summary>
    /// The stage ran and its result is not acceptable. With <see cref="DiagnosticSeverity.Error"/> the build stops there
    /// and publishes nothing; with <see cref="DiagnosticSeverity.Warning"/> it reports <see cref="Diagnostics"/> and goes
    /// on (only such a failure reaches a manifest).
    /// </summary>
    public sealed record Failed(string Summary, DiagnosticSeverity Severity) : StageOutcome
    {
        /// <summary>What the build reports (at least one). Not in the manifest: they name this machine's paths; the log has them.</summary>
        [JsonIgnore]
        public IReadOnlyList<Diagnostic> Diagnostics { get; init; } = [];
    }

    /// <summary>The one-line form, for the progress display: <c>done</c>, the summary, <c>skipped: REASON</c>, <c>failed: …</c> or <c>failed (warning): …</c>.</summary>
    [JsonIgnore]
    public string Text => this switch
    {
        Done done => done.Summary ?? "done",
        Skipped skipped => "skipped: " + skipped.Reason,
        Failed { Severity: DiagnosticSeverity.Warning } failed => "failed (warning): " + failed.Summary,
        Failed failed => "failed: " + failed.Summary,
        _ => throw new InvalidOperationException("a stage outcome is done, skipped or failed"),
    };

    public sealed override string ToString() => Text;
}
