using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using Onnx;

namespace ModelForge.Package;

/// <summary>One dim of an ONNX graph input/output: a fixed size, or dynamic (a <c>dim_param</c> name or nothing at all).</summary>
public readonly record struct OnnxDim(long? Value, string? Param)
{
    public bool IsDynamic => Value is null;

    /// <summary>As Triton writes shapes: the size, or -1 for a dynamic dim.</summary>
    public long AsTriton => Value ?? -1;

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}

/// <summary>A graph input or output of an ONNX model: name, ONNX element type (<c>TensorProto.DataType</c>), shape.</summary>
public sealed record OnnxTensor(string Name, int ElementType, IReadOnlyList<OnnxDim> Shape);

/// <summary>
/// The inputs and outputs of an ONNX model, as ONNX Runtime (and so Triton's onnxruntime backend) sees them: graph
/// inputs that are initializers are not inputs. <see cref="ExternalData"/> lists the files its weights are in when it
/// was written with external data: each must go into a bundle next to the model under the name its <c>location</c> says.
/// </summary>
public sealed record OnnxSignature(string Path, IReadOnlyList<OnnxTensor> Inputs, IReadOnlyList<OnnxTensor> Outputs, IReadOnlyList<BundleFile> ExternalData)
{
    /// <summary>The operators that draw random numbers (<c>RandomUniform</c>, <c>Bernoulli</c>, …), sorted, in the graph or its subgraphs.</summary>
    public IReadOnlyList<string> RandomOperators { get; init; } = [];

    private static readonly HashSet<string> RandomOps = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli",
    };

    public static OnnxSignature Read(string path)
    {
        if (!File.Exists(path))
            throw new ModelForgeException(DiagnosticCode.PackageFileMissing, $"ONNX model '{path}' does not exist", new SourceLocation(path),
                "pass the .onnx file modelforge convert wrote");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.PackageOnnxUnreadable,
                $"'{path}' is not a readable ONNX model: {e.Message}", new SourceLocation(path),
                "pass the .onnx file modelforge convert wrote"), e);
        }
        if (model.Graph is null)
            throw new ModelForgeException(DiagnosticCode.PackageOnnxUnreadable, $"'{path}' has no graph, so it is not an ONNX model",
                new SourceLocation(path), "pass the .onnx file modelforge convert wrote");
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return new OnnxSignature(path,
            model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(Tensor).ToList(),
            model.Graph.Output.Select(Tensor).ToList(),
            ExternalDataFiles(path, model))
        {
            RandomOperators = Nodes(model.Graph).Select(n => n.OpType).Where(RandomOps.Contains).Distinct().Order(StringComparer.Ordinal).ToList(),
        };
    }

    /// <summary>
    /// The distinct <c>location</c>s of the initializers stored externally, each checked to be a file in the model's own
    /// folder (or below it): ONNX Runtime resolves a location against the model's folder and refuses one that leaves it.
    /// </summary>
    private static List<BundleFile> ExternalDataFiles(string path, ModelProto model)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var locations = model.Graph.Initializer
            .Where(t => t.DataLocation == TensorProto.Types.DataLocation.External)
            .Select(t => t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "")
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        var files = new List<BundleFile>();
        foreach (var location in locations)
        {
            var file = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
            var inside = location.Length > 0 && !System.IO.Path.IsPathRooted(location) && location.Split('/').All(part => part is not ("" or "." or ".."));
            if (!inside || !File.Exists(file))
                throw new ModelForgeException(DiagnosticCode.PackageExternalDataMissing,
                    inside
                        ? $"'{path}' keeps its weights in external data '{location}', but '{file}' does not exist: runtimes load it from the model's folder"
                        : $"'{path}' keeps its weights in external data at location '{location}', which is not a file in the model's folder",
                    new SourceLocation(path),
                    $"keep the data file next to the model as modelforge convert --external-data wrote it ({System.IO.Path.GetFileName(path)}.data), or convert without external data");
            files.Add(new BundleFile(file, location));
        }
        return files;
    }

    /// <summary>Every node of <paramref name="graph"/> and of the subgraphs in its attributes (If, Loop, Scan bodies).</summary>
    private static IEnumerable<NodeProto> Nodes(GraphProto graph) =>
        graph.Node.SelectMany(node => node.Attribute.SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G)).SelectMany(Nodes).Prepend(node));

    private static OnnxTensor Tensor(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        var dims = tensor?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? new OnnxDim(d.DimValue, null)
            : new OnnxDim(null, d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null)).ToList() ?? [];
        return new OnnxTensor(value.Name, tensor?.ElemType ?? 0, dims);
    }
}
