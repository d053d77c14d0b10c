using ModelForge.Core.Diagnostics;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Pipeline.Tests;

/// <summary>Keeps what a build reported, so tests can assert which stages ran.</summary>
internal sealed class RecordingReporter : IBuildReporter
{
    public List<string> Started { get; } = [];
    public List<(string Stage, StageOutcome Outcome)> Finished { get; } = [];
    public List<string> Lines { get; } = [];
    public List<Diagnostic> Warnings { get; } = [];

    public void StageStarted(string stage, string detail) => Started.Add(stage);

    public void StageFinished(string stage, StageOutcome outcome, TimeSpan elapsed) => Finished.Add((stage, outcome));

    public void Info(string line) => Lines.Add(line);

    public void Warn(Diagnostic diagnostic) => Warnings.Add(diagnostic);
}
