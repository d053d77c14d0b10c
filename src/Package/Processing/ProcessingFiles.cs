using Google.Protobuf;
using ModelForge.Core.IO;
using Onnx;

namespace ModelForge.Package.Processing;

/// <summary>
/// The ONNX files of a processing plan; a step the plan does not have is null. <see cref="FusedDataPaths"/> are the
/// external data files the fused model reads, copied next to it (empty unless the model was written with external data).
/// </summary>
public sealed record ProcessingFiles(string? PreprocessPath, string? PostprocessPath, string? FusedPath, IReadOnlyList<string> FusedDataPaths)
{
    public const string Folder = "processing";

    /// <summary>
    /// Writes <c>NAME_preprocess.onnx</c>, <c>NAME_postprocess.onnx</c> and (when fused) <c>NAME_fused.onnx</c> into
    /// <paramref name="directory"/>. The same plan gives the same bytes. The fused model keeps the model's initializers as
    /// they are: those stored externally (a model over protobuf's 2 GB limit must be) still name the model's data file,
    /// which ONNX Runtime and Triton resolve against the fused model's own folder, so the data file is copied there under
    /// the same name (and the fused model's Triton folder then carries it like the model's).
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
        if (!plan.Options.Fused)
            return new ProcessingFiles(pre, post, null, []);
        var data = OnnxSignature.Read(plan.ModelPath).ExternalData.Select(file =>
        {
            var copy = Path.Combine(directory, file.EntryName);
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            using (var source = File.OpenRead(file.SourcePath))
                AtomicFile.Write(copy, source.CopyTo);
            return copy;
        }).ToList();
        var fused = Save("_fused", ProcessingGraphs.Fuse(plan, ModelProto.Parser.ParseFrom(File.ReadAllBytes(plan.ModelPath))));
        return new ProcessingFiles(pre, post, fused, data);
    }
}
