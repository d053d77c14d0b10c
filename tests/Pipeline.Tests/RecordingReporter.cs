using ModelForge.Core.Diagnostics;

namespace ModelForge.Pipeline.Tests;

/// <summary>Keeps what a build reported, so tests can assert which stages ran.</summary>
internal sealed class RecordingReporter : IBuildReporter
{
    public List<string> Started { get; } = [];
    public List<(string Stage, string Outcome)> Finished { get; } = [];
    public List<string> Lines { get; } = [];
    public List<Diagnostic> Warnings { get; } = [];

    public void StageStarted(string stage, string detail) => Started.Add(stage);

    public void StageFinished(string stage, string outcome, TimeSpan elapsed) => Finished.Add((stage, outcome));

    public void Info(string line) => Lines.Add(line);

    public void Warn(Diagnostic diagnostic) => Warnings.Add(diagnostic);
}
