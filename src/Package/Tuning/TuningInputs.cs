using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Package.Tuning;

/// <summary>
/// The inputs the tuner feeds the model: described from the ONNX model itself, then filled with seeded values.
/// An input's batch dim is its first symbolic dim; it takes the batch size being measured. Other symbolic dims need a
/// size from <see cref="TuningOptions.DimValues"/>.
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
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        InferenceSession session;
        try
        {
            session = new InferenceSession(onnxPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.TuningRunFailed, $"ONNX Runtime cannot load '{onnxPath}': {Engine.EngineProbe.FirstLine(e.Message)}",
                new SourceLocation(onnxPath), "check that the file is the ONNX model ModelForge wrote"), e);
        }
        using (session)
        {
            return session.InputNames.Select(name => Spec(name, session.InputMetadata[name], onnxPath)).ToList();
        }
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

    /// <summary>Whether any input has a symbolic dim, i.e. a batch dim the tuner can vary.</summary>
    public static bool HasBatchDim(IReadOnlyList<InputSpec> inputs) => inputs.Any(i => i.Dims.Any(d => !d.IsStatic));

    /// <summary>The shape of each input at a batch size; throws <see cref="DiagnosticCode.TuningInputUnresolved"/> for an unsized symbolic dim.</summary>
    public static long[][] Shapes(IReadOnlyList<InputSpec> inputs, int batchSize, IReadOnlyDictionary<string, long> dimValues)
    {
        var shapes = new long[inputs.Count][];
        for (var i = 0; i < inputs.Count; i++)
        {
            var dims = inputs[i].Dims;
            var batchDim = -1;
            for (var d = 0; d < dims.Count && batchDim < 0; d++)
                if (!dims[d].IsStatic) batchDim = d;
            shapes[i] = new long[dims.Count];
            for (var d = 0; d < dims.Count; d++)
            {
                if (dims[d].Value is { } value) shapes[i][d] = value;
                else if (d == batchDim) shapes[i][d] = batchSize;
                else if (dimValues.TryGetValue(dims[d].Symbol!, out var given) && given >= 0) shapes[i][d] = given;
                else
                    throw new ModelForgeException(DiagnosticCode.TuningInputUnresolved,
                        $"input {inputs[i]} has symbolic dim '{dims[d].Symbol}' (dim {d}) besides its batch dim, and no size to measure with",
                        null, $"give it a size in TuningOptions.DimValues, e.g. {{ [\"{dims[d].Symbol}\"] = 128 }}");
            }
        }
        return shapes;
    }

    /// <summary>
    /// Fills an input tensor's bytes (C order, little-endian) from <see cref="Random"/> seeded with (seed, input index):
    /// floats uniform in [-1, 1), integers in [0, 10), bools 0/1. Timing does not depend on the values; the seed only
    /// makes runs reproducible.
    /// </summary>
    internal static void Fill(Span<byte> data, DataType type, int seed, int inputIndex)
    {
        var random = new Random(unchecked(seed * 7919 + inputIndex) & int.MaxValue);
        var size = type.SizeInBytes();
        for (var offset = 0; offset + size <= data.Length; offset += size)
        {
            var span = data.Slice(offset, size);
            var real = random.NextDouble() * 2 - 1;
            var integer = random.Next(type == DataType.Bool ? 2 : 10);
            switch (type)
            {
                case DataType.Float32: BinaryPrimitives.WriteSingleLittleEndian(span, (float)real); break;
                case DataType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(span, real); break;
                case DataType.Float16: BinaryPrimitives.WriteHalfLittleEndian(span, (Half)real); break;
                case DataType.BFloat16: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(BitConverter.SingleToUInt32Bits((float)real) >> 16)); break;
                case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(span, integer); break;
                case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(span, integer); break;
                case DataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(span, (short)integer); break;
                default: span[0] = (byte)integer; break;
            }
        }
    }

    internal static bool CanFill(DataType type) => type.IsFloatingPoint() || type.IsInteger() || type == DataType.Bool;
}
