using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>Runs an ONNX model on ONNX Runtime's CPU execution provider (2 intra-op threads, default optimizations).</summary>
public sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;

    public OrtRunner(string modelPath) => _session = new InferenceSession(modelPath, CreateOptions());
    public OrtRunner(byte[] model) => _session = new InferenceSession(model, CreateOptions());

    public IReadOnlyList<string> InputNames => _session.InputNames;
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    public static SessionOptions CreateOptions()
    {
        // No AppendExecutionProvider call: only the CPU EP is used (the GPU package's CPU EP works without CUDA).
        return new SessionOptions
        {
            IntraOpNumThreads = 2,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
    }

    /// <summary>One-shot: load, run, dispose.</summary>
    public static NdArray[] Run(string modelPath, IReadOnlyDictionary<string, NdArray> inputs)
    {
        using var runner = new OrtRunner(modelPath);
        return runner.Run(inputs);
    }

    public static NdArray[] Run(byte[] model, IReadOnlyDictionary<string, NdArray> inputs)
    {
        using var runner = new OrtRunner(model);
        return runner.Run(inputs);
    }

    /// <summary>Runs the graph; returns all graph outputs in graph order.</summary>
    public NdArray[] Run(IReadOnlyDictionary<string, NdArray> inputs)
    {
        var missing = _session.InputNames.Where(n => !inputs.ContainsKey(n)).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException(
                $"missing ONNX inputs: {string.Join(", ", missing)} (given: {string.Join(", ", inputs.Keys)})");
        var extra = inputs.Keys.Where(n => !_session.InputNames.Contains(n)).ToArray();
        if (extra.Length > 0)
            throw new ArgumentException(
                $"inputs not in the ONNX graph: {string.Join(", ", extra)} (graph: {string.Join(", ", _session.InputNames)})");

        var ortInputs = new List<OrtValue>();
        try
        {
            var names = new List<string>();
            foreach (string name in _session.InputNames)
            {
                names.Add(name);
                ortInputs.Add(ToOrtValue(inputs[name]));
            }
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, names, ortInputs, _session.OutputNames);
            return results.Select(FromOrtValue).ToArray();
        }
        finally
        {
            foreach (var v in ortInputs) v.Dispose();
        }
    }

    private static OrtValue ToOrtValue(NdArray a)
    {
        long[] shape = a.Shape;
        return a.DType switch
        {
            "float32" => OrtValue.CreateTensorValueFromMemory(a.As<float>(), shape),
            "float64" => OrtValue.CreateTensorValueFromMemory(a.As<double>(), shape),
            "float16" => OrtValue.CreateTensorValueFromMemory(
                Array.ConvertAll(a.As<ushort>(), bits => new Float16(bits)), shape),
            "int64" => OrtValue.CreateTensorValueFromMemory(a.As<long>(), shape),
            "int32" => OrtValue.CreateTensorValueFromMemory(a.As<int>(), shape),
            "int16" => OrtValue.CreateTensorValueFromMemory(a.As<short>(), shape),
            "int8" => OrtValue.CreateTensorValueFromMemory(a.As<sbyte>(), shape),
            "uint8" => OrtValue.CreateTensorValueFromMemory(a.As<byte>(), shape),
            "bool" => OrtValue.CreateTensorValueFromMemory(a.ToBool(), shape),
            _ => throw new NotSupportedException($"input dtype {a.DType}"),
        };
    }

    private static NdArray FromOrtValue(OrtValue v)
    {
        if (!v.IsTensor) throw new NotSupportedException($"ONNX output of type {v.OnnxType} is not a tensor");
        var info = v.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => NdArray.FromFloat32(v.GetTensorDataAsSpan<float>().ToArray(), shape),
            TensorElementType.Double => NdArray.FromFloat64(v.GetTensorDataAsSpan<double>().ToArray(), shape),
            TensorElementType.Float16 => NdArray.Create<ushort>("float16", shape,
                v.GetTensorDataAsSpan<Float16>().ToArray().Select(h => h.value).ToArray()),
            TensorElementType.Int64 => NdArray.FromInt64(v.GetTensorDataAsSpan<long>().ToArray(), shape),
            TensorElementType.Int32 => NdArray.FromInt32(v.GetTensorDataAsSpan<int>().ToArray(), shape),
            TensorElementType.Int16 => NdArray.FromInt16(v.GetTensorDataAsSpan<short>().ToArray(), shape),
            TensorElementType.Int8 => NdArray.FromInt8(v.GetTensorDataAsSpan<sbyte>().ToArray(), shape),
            TensorElementType.UInt8 => NdArray.FromUInt8(v.GetTensorDataAsSpan<byte>().ToArray(), shape),
            TensorElementType.Bool => NdArray.FromBool(v.GetTensorDataAsSpan<bool>().ToArray(), shape),
            var other => throw new NotSupportedException($"ONNX output element type {other} is not supported"),
        };
    }

    public void Dispose() => _session.Dispose();
}
