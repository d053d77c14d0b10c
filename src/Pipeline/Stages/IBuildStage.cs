using ModelForge.Core.Diagnostics;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// One step of <c>modelforge build</c>. The stages run in the order of <see cref="BuildPipeline.Stages"/>; a new
/// stage (another precision, another bundle kind) is one class and one line in that list.
/// </summary>
public interface IBuildStage
{
    /// <summary>The stage's key in the manifest's <c>stages</c> and its label in the progress display.</summary>
    string Name { get; }

    /// <summary>Whether the spec asks for this stage at all (no <c>tensorrt</c> section: no engine stage, and no record of one).</summary>
    bool RunsFor(ModelSpec spec);

    /// <summary>What the progress display says while the stage runs.</summary>
    string Detail(ModelSpec spec);

    /// <summary>
    /// Does the work into <see cref="BuildContext.StagingDirectory"/>. Invalid input is thrown as a
    /// <see cref="ModelForgeException"/>; a result the build must judge is a <see cref="StageOutcome.Failed"/>.
    /// </summary>
    StageOutcome Run(BuildContext context);

    /// <summary>
    /// Whether a previous build's outcome still stands when nothing in the input hash changed. False rebuilds: an
    /// engine skipped for want of TensorRT no longer stands where TensorRT now runs.
    /// </summary>
    bool StillStands(StageOutcome previous) => true;

    /// <summary>What a build that found nothing to do still says about the previous outcome (a gate that failed in warning mode warns again).</summary>
    IEnumerable<Diagnostic> Repeat(ModelSpec spec, StageOutcome previous) => [];
}
