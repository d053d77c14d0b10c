using ModelForge.Convert;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Stages;

/// <summary>TorchScript → <c>model.onnx</c> (and <c>model.onnx.data</c> with external data), as the spec's <c>onnx</c> section says.</summary>
public sealed class ConvertStage : IBuildStage
{
    public string Name => "convert";

    public bool RunsFor(ModelSpec spec) => true;

    public string Detail(ModelSpec spec) => $"{Path.GetFileName(spec.SourcePath)} → {BuildPipeline.OnnxFileName} (opset {spec.Opset})";

    public StageOutcome Run(BuildContext context)
    {
        var onnxPath = Path.Combine(context.StagingDirectory, BuildPipeline.OnnxFileName);
        var options = OptionsFor(context.Spec);
        if (context.Settings.PassTrace is { } trace) options = options.WithPassTrace(trace);
        using (var converted = ModelConverter.Convert(context.Spec.SourcePath, options))
        {
            foreach (var warning in converted.Warnings) context.Reporter.Warn(warning);
            converted.WriteTo(onnxPath);
        }
        context.OnnxPath = onnxPath;
        return new StageOutcome.Done();
    }

    /// <summary>The spec's inputs, outputs and <c>onnx</c> section as converter options.</summary>
    public static ConvertOptions OptionsFor(ModelSpec spec) =>
        new(spec.Inputs, spec.Opset, spec.OutputNames) { Optimize = spec.Optimize, ExternalData = spec.ExternalData };
}
