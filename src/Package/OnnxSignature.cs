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
/// inputs that are initializers are not inputs.
/// </summary>
public sealed record OnnxSignature(string Path, IReadOnlyList<OnnxTensor> Inputs, IReadOnlyList<OnnxTensor> Outputs)
{
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
            model.Graph.Output.Select(Tensor).ToList());
    }

    private static OnnxTensor Tensor(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        var dims = tensor?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? new OnnxDim(d.DimValue, null)
            : new OnnxDim(null, d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null)).ToList() ?? [];
        return new OnnxTensor(value.Name, tensor?.ElemType ?? 0, dims);
    }
}
