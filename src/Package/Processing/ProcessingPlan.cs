using ModelForge.Core.Diagnostics;
using Onnx;

namespace ModelForge.Package.Processing;

/// <summary>The model's image input as the preprocessing must produce it: float32 <c>[batch, C, H, W]</c>, C, H and W fixed.</summary>
public sealed record ModelImageInput(string Name, OnnxDim Batch, long Channels, long Height, long Width);

/// <summary>The model's classifier output the postprocessing reads: float32 <c>[batch, classes]</c>.</summary>
public sealed record ModelClassOutput(string Name, OnnxDim Batch, long Classes);

/// <summary>
/// Pre- and post-processing checked against one model: what the request looks like, what the model takes and gives.
/// Made by <see cref="Resolve"/>, which refuses (MF4070–MF4072) a spec that cannot fit the model, before anything is written.
/// </summary>
public sealed record ProcessingPlan(ProcessingOptions Options, string ModelPath, long Opset, ModelImageInput? Input, ModelClassOutput? Output, IReadOnlyList<string> Labels)
{
    /// <summary>The preprocessing's (and the ensemble's, and the fused model's) input: the raw <c>uint8</c> image batch.</summary>
    public const string ImageInputName = "image";
    public const string ScoresName = "scores";
    public const string TopKScoresName = "topk_scores";
    public const string TopKIndicesName = "topk_indices";
    public const string ClassIndexName = "class_index";

    public ImagePreprocess? Preprocess => Options.Preprocess;
    public ClassifierPostprocess? Postprocess => Options.Postprocess;

    /// <summary>The request's image size: the declared one, or the model's.</summary>
    public (long Height, long Width) RequestSize => (Preprocess?.Height ?? Input!.Height, Preprocess?.Width ?? Input!.Width);

    /// <summary>The request's dims without the batch dim, in its layout.</summary>
    public IReadOnlyList<long> RequestDims
    {
        get
        {
            var (height, width) = RequestSize;
            return Preprocess!.Layout == ImageLayout.Hwc ? [height, width, Input!.Channels] : [Input!.Channels, height, width];
        }
    }

    public bool Resizes => Preprocess is not null && RequestSize != (Input!.Height, Input.Width);

    /// <summary>The postprocessing's outputs in order, with their element types and dims without the batch dim.</summary>
    public IReadOnlyList<(string Name, TensorProto.Types.DataType Type, long[] Dims)> PostprocessOutputs
    {
        get
        {
            var post = Postprocess!;
            var outputs = new List<(string, TensorProto.Types.DataType, long[])> { (ScoresName, TensorProto.Types.DataType.Float, [Output!.Classes]) };
            if (post.TopK is { } k)
            {
                outputs.Add((TopKScoresName, TensorProto.Types.DataType.Float, [k]));
                outputs.Add((TopKIndicesName, TensorProto.Types.DataType.Int64, [k]));
            }
            if (post.Argmax) outputs.Add((ClassIndexName, TensorProto.Types.DataType.Int64, [1]));
            return outputs;
        }
    }

    /// <summary>Checks <paramref name="options"/> against the ONNX model (its single input and output) and reads the label file.</summary>
    public static ProcessingPlan Resolve(ProcessingOptions options, string onnxPath, IReadOnlyList<string>? outputNames)
    {
        var signature = OnnxSignature.Read(onnxPath);
        var opset = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath)).OpsetImport.Where(o => o.Domain.Length == 0).Select(o => o.Version).DefaultIfEmpty(13).Max();
        var input = options.Preprocess is { } pre ? ImageInput(pre, signature) : null;
        var output = options.Postprocess is { } post ? ClassOutput(post, signature, outputNames) : null;
        var labels = options.Postprocess?.LabelFile is { } labelFile ? ReadLabels(labelFile, output!) : [];
        return new ProcessingPlan(options, onnxPath, Math.Max(13, opset), input, output, labels);
    }

    private static ModelImageInput ImageInput(ImagePreprocess pre, OnnxSignature signature)
    {
        var path = signature.Path;
        if (signature.Inputs.Count != 1)
            throw Shape($"the model has {signature.Inputs.Count} inputs ({string.Join(", ", signature.Inputs.Select(i => i.Name))}): image preprocessing feeds exactly one", path,
                "preprocess only a model whose one input is the image batch");
        var model = signature.Inputs[0];
        var shape = "[" + string.Join(",", model.Shape) + "]";
        if (model.ElementType != (int)TensorProto.Types.DataType.Float || model.Shape.Count != 4 || model.Shape.Skip(1).Any(d => d.Value is null))
            throw Shape($"the model's input '{model.Name}' is {TypeName(model.ElementType)}{shape}: image preprocessing produces float32 [N, C, H, W] with C, H and W fixed", path,
                "convert the model with a fixed image size, e.g. --input x:float32[batch,3,224,224]");
        var (channels, height, width) = (model.Shape[1].Value!.Value, model.Shape[2].Value!.Value, model.Shape[3].Value!.Value);
        foreach (var (name, values) in new[] { ("mean", pre.Mean), ("std", pre.Std) })
            if (values.Count != 0 && values.Count != channels)
                throw Shape($"preprocess {name} has {values.Count} values but the model's input '{model.Name}' {shape} has {channels} channels", path,
                    $"give one {name} per channel ({channels}), or none");
        if (pre.Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw Shape($"preprocess std [{string.Join(", ", pre.Std)}] has a value that is not a positive number: the normalisation divides by it", path,
                "give each channel's standard deviation, e.g. 0.229, 0.224, 0.225");
        if (pre.ChannelOrder == ChannelOrder.Bgr && channels != 3)
            throw Shape($"channelOrder bgr reverses three colour channels, but the model's input '{model.Name}' {shape} has {channels}", path,
                "use channelOrder rgb for a model without three colour channels");
        if (pre.Height is < 1 || pre.Width is < 1)
            throw Shape($"preprocess size {pre.Height}x{pre.Width} is not a positive image size", path, "give the request's height and width in pixels");
        var request = (pre.Height ?? height, pre.Width ?? width);
        if (!pre.Resize && request != (height, width))
            throw Shape($"the request's images are {request.Item1}x{request.Item2} and resizing is off, but the model's input '{model.Name}' {shape} takes {height}x{width}", path,
                $"turn resize on, or declare the size {height}x{width}");
        return new ModelImageInput(model.Name, model.Shape[0], channels, height, width);
    }

    private static ModelClassOutput ClassOutput(ClassifierPostprocess post, OnnxSignature signature, IReadOnlyList<string>? outputNames)
    {
        var path = signature.Path;
        var served = outputNames ?? signature.Outputs.Select(o => o.Name).ToList();
        if (served.Count != 1)
            throw Post($"the model serves {served.Count} outputs ({string.Join(", ", served)}): classifier postprocessing reads exactly one", path,
                "serve only the class scores (the spec's outputs, e.g. [\"logits\"])");
        var model = signature.Outputs.FirstOrDefault(o => o.Name == served[0])
            ?? throw Post($"the model has no output '{served[0]}'; its outputs are {string.Join(", ", signature.Outputs.Select(o => o.Name))}", path, "name an output of the model");
        var shape = "[" + string.Join(",", model.Shape) + "]";
        if (model.ElementType != (int)TensorProto.Types.DataType.Float || model.Shape.Count != 2 || model.Shape[1].Value is not { } classes)
            throw Post($"the model's output '{model.Name}' is {TypeName(model.ElementType)}{shape}: classifier postprocessing reads float32 [N, classes] with a fixed class count", path,
                "postprocess a classifier's scores, or leave postprocess out");
        if (new[] { ScoresName, TopKScoresName, TopKIndicesName, ClassIndexName, ImageInputName }.Contains(model.Name))
            throw Post($"the model's output is named '{model.Name}', which the postprocessing's own tensors use", path, "rename the output when converting (the spec's outputs)");
        if (post.TopK is { } k && (k < 1 || k > classes))
            throw Post($"postprocess topK {k} with {classes} classes in the model's output '{model.Name}' {shape}: top-k needs 1 <= k <= classes", path,
                $"use a topK between 1 and {classes}");
        return new ModelClassOutput(model.Name, model.Shape[0], classes);
    }

    /// <summary>One label per line (an empty line is a label too), as Triton's label provider reads <c>label_filename</c>.</summary>
    private static IReadOnlyList<string> ReadLabels(string labelFile, ModelClassOutput output)
    {
        PackageChecks.RequireFile(labelFile, "label file", "pass a text file with one label per class, in class order");
        var labels = File.ReadAllLines(labelFile);
        if (labels.Length != output.Classes)
            throw new ModelForgeException(DiagnosticCode.LabelFileMismatch,
                $"the label file has {labels.Length} labels but the model's output '{output.Name}' has {output.Classes} classes", new SourceLocation(labelFile),
                $"write one label per class, {output.Classes} lines in class order");
        return labels;
    }

    private static string TypeName(int elementType) => Enum.IsDefined((TensorProto.Types.DataType)elementType)
        ? ((TensorProto.Types.DataType)elementType).ToString().ToLowerInvariant() : $"element type {elementType} ";

    private static ModelForgeException Shape(string message, string path, string hint) =>
        new(DiagnosticCode.PreprocessShapeMismatch, message, new SourceLocation(path), hint);

    private static ModelForgeException Post(string message, string path, string hint) =>
        new(DiagnosticCode.PostprocessInvalid, message, new SourceLocation(path), hint);
}
