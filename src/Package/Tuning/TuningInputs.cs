using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Runtime;

namespace ModelForge.Package.Tuning;

/// <summary>
/// The inputs the tuner feeds the model: described from the ONNX model itself (or declared), shaped by
/// <see cref="InputShapes"/> and filled by <see cref="InputValues"/>, as validation's are. The batch dim
/// (<see cref="BatchDim"/>: dim 0 of the first input, when it is symbolic) takes the batch size being measured; other
/// symbolic dims need a size from <see cref="TuningOptions.DimValues"/>.
/// </summary>
public static class TuningInputs
{
    /// <summary>
    /// The model's inputs as ONNX Runtime reads them: names in graph order, element types, and dims (a dynamic dim
    /// keeps its <c>dim_param</c> name, or becomes <c>NAME_dimD</c> when it has none).
    /// </summary>
    public static IReadOnlyList<InputSpec> Describe(string onnxPath)
    {
        if (!File.Exists(onnxPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound, $"ONNX model '{onnxPath}' does not exist", new SourceLocation(onnxPath), "give the path of the converted .onnx file");
        using var session = OrtHost.Open(new OrtSessionRequest(onnxPath, OrtFailure.CannotLoad(DiagnosticCode.TuningRunFailed, onnxPath))
        {
            Optimization = GraphOptimizationLevel.ORT_DISABLE_ALL,
        });
        return session.InputNames.Select(name => Spec(name, session.InputMetadata[name], onnxPath)).ToList();
    }

    private static InputSpec Spec(string name, NodeMetadata metadata, string onnxPath)
    {
        if (!metadata.IsTensor)
            throw new ModelForgeException(DiagnosticCode.TuningInputUnresolved, $"input '{name}' of '{onnxPath}' is a {metadata.OnnxValueType}, not a tensor",
                new SourceLocation(onnxPath), "the tuner can only generate tensor inputs");
        var dims = new Dim[metadata.Dimensions.Length];
        for (var d = 0; d < dims.Length; d++)
        {
            var symbol = d < metadata.SymbolicDimensions.Length ? metadata.SymbolicDimensions[d] : "";
            dims[d] = metadata.Dimensions[d] >= 0 ? Dim.Of(metadata.Dimensions[d]) : Dim.Named(symbol is { Length: > 0 } ? symbol : $"{name}_dim{d}");
        }
        return new InputSpec(name, (DataType)(int)metadata.ElementDataType, dims);
    }

    /// <summary>The shape of each input at a batch size; throws <see cref="DiagnosticCode.TuningInputUnresolved"/> for an unsized symbolic dim.</summary>
    public static long[][] Shapes(IReadOnlyList<InputSpec> inputs, int batchSize, IReadOnlyDictionary<string, long> dimValues)
    {
        var shapes = InputShapes.At(inputs, batchSize, dimValues);
        if (shapes.Unsized is [var (input, d, symbol), ..])
            throw new ModelForgeException(DiagnosticCode.TuningInputUnresolved,
                $"input {inputs[input]} has symbolic dim '{symbol}' (dim {d}), which is not the batch dim, and no size to measure with",
                null, $"give it a size in TuningOptions.DimValues, e.g. {{ [\"{symbol}\"] = 128 }}");
        return shapes.Shapes;
    }
}
