using ModelForge.Pipeline.Spec;
using ModelForge.Validate.Reports;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// What the stages of one build share: the spec, the settings, the staging folder they all write into, and what the
/// earlier stages produced. A stage reads only what a stage before it in <see cref="BuildPipeline.Stages"/> wrote.
/// </summary>
public sealed class BuildContext
{
    private string? _onnxPath;

    public required ModelSpec Spec { get; init; }
    public required BuildSettings Settings { get; init; }
    public required IBuildReporter Reporter { get; init; }

    /// <summary>Where every stage writes; published as the output folder only when the whole build completes.</summary>
    public required string StagingDirectory { get; init; }

    /// <summary>The converted model in the staging folder, written by the convert stage.</summary>
    public string OnnxPath
    {
        get => _onnxPath ?? throw new InvalidOperationException("the convert stage has not run: there is no ONNX model yet");
        set => _onnxPath = value;
    }

    /// <summary>What the precision stage measured and chose; null when the spec asks for fp32 alone (the converted model is the one).</summary>
    public PrecisionChoice? Precision { get; set; }

    /// <summary>The engine folder in the staging folder when the engine stage built one; null when it did not run or was skipped.</summary>
    public string? EngineDirectory { get; set; }

    /// <summary>The version the package stage added to the spec's Triton repository (<c>package.triton.repository</c>), for the manifest.</summary>
    public TritonRepositoryRecord? TritonRepository { get; set; }

    /// <summary>The accuracy gate's report, written by the validate stage.</summary>
    public ValidationReport? Report { get; set; }
}
