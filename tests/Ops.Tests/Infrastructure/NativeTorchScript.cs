using ModelForge.Validate.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// Runs a TorchScript file natively through TorchSharp (libtorch 2.10): the reference the converted ONNX model is
/// compared against, on top of the PyTorch 1.13 outputs committed with each fixture.
/// </summary>
/// <remarks>Process setup (thread count, the oneDNN ISA cap that keeps batched convolutions right) is
/// <see cref="LibTorchRuntime"/>'s, shared with the Validate stage. All runs use no_grad and eval().</remarks>
public static class NativeTorchScript
{
    /// <summary>Forces libtorch to load (throws TypeInitializationException when libLibTorchSharp.so cannot load).</summary>
    public static void EnsureInitialized() => LibTorchRuntime.EnsureConfigured();

    /// <summary>Loads <paramref name="modelPath"/>, runs forward on <paramref name="inputs"/>, returns the outputs flattened.</summary>
    public static NdArray[] Run(string modelPath, IReadOnlyList<NdArray> inputs)
    {
        EnsureInitialized();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var module = torch.jit.load(modelPath);
        module.eval();
        object[] args = inputs.Select(a => (object)ToTensor(a)).ToArray();
        object result = module.forward(args);
        var outputs = new List<NdArray>();
        Flatten(result, outputs);
        return outputs.ToArray();
    }

    /// <summary>An NdArray as a CPU tensor (copies the data).</summary>
    public static Tensor ToTensor(NdArray a)
    {
        ReadOnlySpan<long> shape = a.Shape;
        return a.DType switch
        {
            "float32" => torch.tensor(a.As<float>(), shape),
            "float64" => torch.tensor(a.As<double>(), shape),
            "float16" => torch.tensor(a.ToFloat(), shape).to_type(ScalarType.Float16),
            "int64" => torch.tensor(a.As<long>(), shape),
            "int32" => torch.tensor(a.As<int>(), shape),
            "int16" => torch.tensor(a.As<short>(), shape),
            "int8" => torch.tensor(a.As<sbyte>(), shape),
            "uint8" => torch.tensor(a.As<byte>(), shape),
            "bool" => torch.tensor(a.ToBool(), shape),
            _ => throw new NotSupportedException($"dtype {a.DType}"),
        };
    }

    /// <summary>A tensor as an NdArray (copies the data to managed memory).</summary>
    public static NdArray FromTensor(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        long[] shape = c.shape;
        return c.dtype switch
        {
            ScalarType.Float32 => NdArray.FromFloat32(c.data<float>().ToArray(), shape),
            ScalarType.Float64 => NdArray.FromFloat64(c.data<double>().ToArray(), shape),
            ScalarType.Float16 or ScalarType.BFloat16 => FromHalfish(c, shape),
            ScalarType.Int64 => NdArray.FromInt64(c.data<long>().ToArray(), shape),
            ScalarType.Int32 => NdArray.FromInt32(c.data<int>().ToArray(), shape),
            ScalarType.Int16 => NdArray.FromInt16(c.data<short>().ToArray(), shape),
            ScalarType.Int8 => NdArray.FromInt8(c.data<sbyte>().ToArray(), shape),
            ScalarType.Byte => NdArray.FromUInt8(c.data<byte>().ToArray(), shape),
            ScalarType.Bool => NdArray.FromBool(c.data<bool>().ToArray(), shape),
            var other => throw new NotSupportedException($"output dtype {other} is not supported"),
        };
    }

    private static NdArray FromHalfish(Tensor c, long[] shape)
    {
        // float16 → float32 is exact; bfloat16 is reported as float32 (NumPy has no bfloat16).
        using var f = c.to_type(ScalarType.Float32);
        float[] values = f.data<float>().ToArray();
        return c.dtype == ScalarType.Float16
            ? NdArray.FromFloat16(Array.ConvertAll(values, v => (Half)v), shape)
            : NdArray.FromFloat32(values, shape);
    }

    private static void Flatten(object? value, List<NdArray> outputs)
    {
        switch (value)
        {
            case Tensor t:
                outputs.Add(FromTensor(t));
                break;
            case System.Runtime.CompilerServices.ITuple tuple: // TorchSharp returns TorchScript tuples as ValueTuples
                for (int i = 0; i < tuple.Length; i++) Flatten(tuple[i], outputs);
                break;
            case System.Collections.IEnumerable items when value is not string: // lists: Tensor[] / object[]
                foreach (object? item in items) Flatten(item, outputs);
                break;
            case null:
                throw new NotSupportedException("TorchScript forward returned None");
            default:
                throw new NotSupportedException($"TorchScript output of type {value.GetType().Name} is not supported");
        }
    }
}
