using ModelForge.Core.Diagnostics;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Pipeline;

/// <summary>How a build tells its user what it is doing: a live display on a terminal, plain lines in CI and logs.</summary>
public interface IBuildReporter
{
    void StageStarted(string stage, string detail);

    /// <summary>A stage ended with <paramref name="outcome"/>; its <see cref="StageOutcome.Text"/> is the line to show.</summary>
    void StageFinished(string stage, StageOutcome outcome, TimeSpan elapsed);

    /// <summary>A line worth keeping in the log (a file written, a skipped provider, the no-change decision).</summary>
    void Info(string line);

    /// <summary>A warning the build goes on after (errors are thrown as <see cref="ModelForgeException"/>).</summary>
    void Warn(Diagnostic diagnostic);
}
