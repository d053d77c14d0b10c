using Google.Protobuf;
using ModelForge.Core.IO;
using Onnx;

namespace ModelForge.Package.Processing;

/// <summary>The ONNX files of a processing plan; a step the plan does not have is null.</summary>
public sealed record ProcessingFiles(string? PreprocessPath, string? PostprocessPath, string? FusedPath)
{
    public const string Folder = "processing";

    /// <summary>
    /// Writes <c>NAME_preprocess.onnx</c>, <c>NAME_postprocess.onnx</c> and (when fused) <c>NAME_fused.onnx</c> into
    /// <paramref name="directory"/>. The same plan gives the same bytes.
    /// </summary>
    public static ProcessingFiles Write(ProcessingPlan plan, string modelName, string directory)
    {
        Directory.CreateDirectory(directory);
        string Save(string suffix, ModelProto model)
        {
            var path = Path.Combine(directory, modelName + suffix + ".onnx");
            AtomicFile.Write(path, stream => model.WriteTo(stream));
            return path;
        }
        var pre = plan.Preprocess is null ? null : Save("_preprocess", ProcessingGraphs.Preprocess(plan));
        var post = plan.Postprocess is null ? null : Save("_postprocess", ProcessingGraphs.Postprocess(plan));
        var fused = plan.Options.Fused
            ? Save("_fused", ProcessingGraphs.Fuse(plan, ModelProto.Parser.ParseFrom(File.ReadAllBytes(plan.ModelPath))))
            : null;
        return new ProcessingFiles(pre, post, fused);
    }
}
